/**
 * A logged-in MediaWiki user over HTTP: api.php (clientlogin, csrf token, edit) and index.php
 * (views, action=raw). One instance keeps one session's cookies; requests never throw for an
 * HTTP or API error, they report it, so a load loop can count failures.
 */
/** `error` is null when the request did what it asked (HTTP 200 and, for api.php, the action's success). */
export interface HttpOutcome { status: number; ms: number; error: string | null }

const REQUEST_TIMEOUT_MS = 30_000;

export class WikiUser {
  private readonly cookies = new Map<string, string>();
  private csrf = '';

  constructor(private readonly baseUrl: string) {}

  /** action=clientlogin, then fetches the csrf token for edits. Throws when the wiki says no. */
  async login(user: string, password: string): Promise<void> {
    const tokens = await this.api({ action: 'query', meta: 'tokens', type: 'login' });
    const login = await this.api({
      action: 'clientlogin', username: user, password, logintoken: tokens.query?.tokens?.logintoken, loginreturnurl: this.baseUrl,
    }, 'POST');
    if (login.clientlogin?.status !== 'PASS') {
      throw Object.assign(new Error(`login as ${user} failed: ${JSON.stringify(login)}`), { code: 'WIKI_LOGIN_FAILED' });
    }
    const csrf = await this.api({ action: 'query', meta: 'tokens' });
    this.csrf = csrf.query?.tokens?.csrftoken ?? '';
    if (this.csrf === '' || this.csrf === '+\\') throw Object.assign(new Error(`no csrf token after login: ${JSON.stringify(csrf)}`), { code: 'WIKI_LOGIN_FAILED' });
  }

  /** action=edit: saved when the API's edit.result is 'Success'. */
  async edit(title: string, text: string, summary: string): Promise<HttpOutcome> {
    const started = Date.now();
    try {
      const res = await this.request('POST', { action: 'edit', title, text, summary, token: this.csrf, format: 'json', formatversion: '2' });
      const body = await res.text();
      const saved = parseJson(body)?.edit?.result === 'Success';
      return { status: res.status, ms: Date.now() - started, error: res.status === 200 && saved ? null : `HTTP ${res.status}: ${body.slice(0, 1000)}` };
    } catch (err) {
      return { status: 0, ms: Date.now() - started, error: (err as Error).message };
    }
  }

  /** action=move (leaves a redirect behind). MovePage runs inside a cancelable atomic section: a SAVEPOINT. */
  async move(from: string, to: string, reason: string): Promise<HttpOutcome> {
    const started = Date.now();
    try {
      const res = await this.request('POST', { action: 'move', from, to, reason, token: this.csrf, format: 'json', formatversion: '2' });
      const body = await res.text();
      const moved = parseJson(body)?.move?.to;
      const error = res.status !== 200 || typeof moved !== 'string' ? `HTTP ${res.status}: ${body.slice(0, 1000)}` : null;
      return { status: res.status, ms: Date.now() - started, error };
    } catch (err) {
      return { status: 0, ms: Date.now() - started, error: (err as Error).message };
    }
  }

  /** index.php?title=…: the rendered page (by its canonical title: spaces make a 301 to it). */
  async view(title: string): Promise<HttpOutcome> {
    const started = Date.now();
    try {
      const res = await this.request('GET', { title: title.replace(/ /g, '_') }, '/index.php');
      const body = await res.text();
      const ok = res.status === 200 && body.includes('</html>');
      return { status: res.status, ms: Date.now() - started, error: ok ? null : `HTTP ${res.status}: ${body.slice(0, 500)}` };
    } catch (err) {
      return { status: 0, ms: Date.now() - started, error: (err as Error).message };
    }
  }

  /** index.php?action=raw: the page's current wikitext (null when the page does not exist). */
  async raw(title: string): Promise<string | null> {
    const res = await this.request('GET', { title, action: 'raw' }, '/index.php');
    const body = await res.text();
    if (res.status === 404) return null;
    if (res.status !== 200) throw Object.assign(new Error(`action=raw of ${title}: HTTP ${res.status}: ${body.slice(0, 500)}`), { code: 'WIKI_HTTP_ERROR' });
    return body;
  }

  private async api(params: Record<string, string>, method: 'GET' | 'POST' = 'GET'): Promise<any> {
    const res = await this.request(method, { ...params, format: 'json', formatversion: '2' });
    const body = await res.text();
    const json = parseJson(body);
    if (res.status !== 200 || json === null || json.error) {
      throw Object.assign(new Error(`api.php ${params.action}: HTTP ${res.status}: ${body.slice(0, 500)}`), { code: 'WIKI_API_ERROR' });
    }
    return json;
  }

  private async request(method: 'GET' | 'POST', params: Record<string, string>, path = '/api.php'): Promise<Response> {
    const query = new URLSearchParams(params).toString();
    const headers: Record<string, string> = { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
    const init: RequestInit = { method, headers, redirect: 'manual', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) };
    let url = `${this.baseUrl}${path}`;
    if (method === 'POST') {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      init.body = query;
    } else {
      url += `?${query}`;
    }
    const res = await fetch(url, init);
    for (const c of res.headers.getSetCookie()) this.keepCookie(c);
    return res;
  }

  private keepCookie(header: string): void {
    const [pair] = header.split(';');
    const eq = pair.indexOf('=');
    if (eq < 1) return;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (value === '' || value === 'deleted' || /max-age=0|expires=Thu, 01 Jan 1970/i.test(header)) this.cookies.delete(name);
    else this.cookies.set(name, value);
  }
}

function parseJson(body: string): any {
  try {
    return JSON.parse(body);
  } catch {
    return null;
  }
}
