export interface HostPort { host: string; port: number }

/** `HOST:PORT` or `[v6]:PORT` with a port in 0..65535, else null. */
export function splitHostPort(text: string): HostPort | null {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  return m && port <= 65535 ? { host: m[1] ?? m[2], port } : null;
}
