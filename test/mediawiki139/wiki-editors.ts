import { WikiUser, type HttpOutcome } from './wiki-api.js';

export interface Failure { what: 'edit' | 'view' | 'move'; title: string; at: number; outcome: HttpOutcome }

export interface Slowest { ms: number; endedAt: number }

/** A page created and then moved: `to` has `text`, `from` is a redirect to it; `done`: when the move's response came. */
export interface Move { from: string; to: string; text: string; done: number }

export interface EditorsReport {
  edits: number;
  views: number;
  moves: Move[];
  failures: Failure[];
  /** Each edited page's last saved text (only successful edits count). */
  lastText: Map<string, string>;
  /** The slowest edit and view (ms, and when it ended): the switchover's hold shows up here. */
  slowestEdit: Slowest;
  slowestView: Slowest;
}

export interface EditorsOptions {
  baseUrl: string;
  user: string;
  password: string;
  /** Concurrent editors; each has its own login session and its own pages, so edits never conflict. */
  editors: number;
  /** Titles to edit, shared out among the editors. */
  titles: string[];
}

const MOVE_EVERY = 4;

/**
 * Logged-in editors that edit their pages in a loop (a view of the page after each edit) until
 * stop(); in their first round and every MOVE_EVERY-th after it they also create a page and move
 * it. Every edit's text is unique, so the last one of each page can be found in the wiki.
 */
export class WikiEditors {
  private stopping = false;
  private readonly report: EditorsReport = { edits: 0, views: 0, moves: [], failures: [], lastText: new Map(), slowestEdit: { ms: 0, endedAt: 0 }, slowestView: { ms: 0, endedAt: 0 } };
  private running: Promise<void>[] = [];

  constructor(private readonly o: EditorsOptions) {}

  /** Logs every editor in, then starts their loops. */
  async start(): Promise<void> {
    const users = await Promise.all(Array.from({ length: this.o.editors }, async () => {
      const u = new WikiUser(this.o.baseUrl);
      await u.login(this.o.user, this.o.password);
      return u;
    }));
    this.running = users.map((u, i) => this.loop(u, i, this.o.titles.filter((_, k) => k % this.o.editors === i)));
  }

  /** Lets each editor finish the request in hand. */
  async stop(): Promise<EditorsReport> {
    this.stopping = true;
    await Promise.all(this.running);
    return this.report;
  }

  /** Edits so far (while running). */
  get edits(): number {
    return this.report.edits;
  }

  /** Failed requests so far (while running). */
  get failures(): number {
    return this.report.failures.length;
  }

  /** Page moves so far (while running). */
  get moves(): number {
    return this.report.moves.length;
  }

  private async loop(user: WikiUser, editor: number, titles: string[]): Promise<void> {
    for (let n = 0; !this.stopping; n++) {
      const title = titles[n % titles.length];
      const text = editText(editor, n, title);
      const edit = await user.edit(title, text, `editor ${editor} edit ${n}`);
      this.report.edits++;
      this.report.slowestEdit = slower(this.report.slowestEdit, edit.ms);
      if (edit.error === null) this.report.lastText.set(title, text);
      else this.report.failures.push({ what: 'edit', title, at: Date.now(), outcome: edit });
      const view = await user.view(title);
      this.report.views++;
      this.report.slowestView = slower(this.report.slowestView, view.ms);
      if (view.error !== null) this.report.failures.push({ what: 'view', title, at: Date.now(), outcome: view });
      // One mover: two concurrent moves can deadlock inside MediaWiki (ChangeTags::updateTags bumps
      // the shared change_tag_def counter), an error of the application's own, not the upgrade's.
      if (editor === 0 && n % MOVE_EVERY === 0) await this.createAndMove(user, editor, n);
    }
  }

  private async createAndMove(user: WikiUser, editor: number, n: number): Promise<void> {
    const from = `Draft ${editor}-${n}`;
    const to = `Moved ${editor}-${n}`;
    const text = editText(editor, n, from);
    const created = await user.edit(from, text, `editor ${editor} draft ${n}`);
    this.report.edits++;
    if (created.error !== null) {
      this.report.failures.push({ what: 'edit', title: from, at: Date.now(), outcome: created });
      return;
    }
    const moved = await user.move(from, to, `editor ${editor} move ${n}`);
    if (moved.error === null) this.report.moves.push({ from, to, text, done: Date.now() });
    else this.report.failures.push({ what: 'move', title: from, at: Date.now(), outcome: moved });
  }
}

function slower(so: Slowest, ms: number): Slowest {
  return ms > so.ms ? { ms, endedAt: Date.now() } : so;
}

/** Links, a template and a category, so every edit also updates the link tables and queues jobs. No trailing space: MediaWiki trims it. */
function editText(editor: number, n: number, title: string): string {
  return `'''${title}''' edited by editor ${editor}, edit ${n}, at ${new Date().toISOString()}.\n\n`
    + `See [[Gen Article ${(n * 11 + editor) % 100}]] and [[Edited Page ${editor}-${n % 7}]].\n{{Box20}}\n`
    + `[[Category:Edited by ${editor}]]`;
}
