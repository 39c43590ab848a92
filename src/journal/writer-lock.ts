import { randomBytes } from 'node:crypto';
import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { JournalError } from './errors.js';

const LOCK_FILE = 'writer.lock';

/** Lock files this process holds, so its own pid in a leftover lock (pid reuse in containers) is not mistaken for a live writer. */
const heldHere = new Set<string>();

/**
 * One writer per journal directory: `writer.lock` holds the writer's pid. The file is made
 * complete under a temporary name and hard-linked into place, which fails if it exists, so a
 * reader of the lock never sees it empty. A lock whose pid is not running is taken over.
 */
export class WriterLock {
  private constructor(private readonly path: string) {}

  static async acquire(dir: string, log: (msg: string, extra?: object) => void): Promise<WriterLock> {
    const path = join(dir, LOCK_FILE);
    const temp = join(dir, `${LOCK_FILE}.${process.pid}.${randomBytes(4).toString('hex')}`);
    await writeFile(temp, `${process.pid}\n`, { mode: 0o600 });
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        if (await tryLink(temp, path)) {
          heldHere.add(path);
          return new WriterLock(path);
        }
        const holder = await readHolder(path);
        if (holder !== null && isRunning(holder) && (holder !== process.pid || heldHere.has(path))) {
          throw new JournalError('JOURNAL_LOCKED', `journal ${dir} is locked by writer pid ${holder} (${path}); stop that writer first, or remove the file if no such process runs`);
        }
        log('taking over a stale journal lock', { path, stalePid: holder });
        await unlink(path).catch(ignoreMissing);
      }
      throw new JournalError('JOURNAL_LOCKED', `journal ${dir}: could not take ${path}, another process keeps creating it`);
    } finally {
      await unlink(temp).catch(ignoreMissing);
    }
  }

  async release(): Promise<void> {
    heldHere.delete(this.path);
    if ((await readHolder(this.path)) === process.pid) await unlink(this.path).catch(ignoreMissing);
  }
}

async function tryLink(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

async function readHolder(path: string): Promise<number | null> {
  try {
    const pid = Number.parseInt(await readFile(path, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}
