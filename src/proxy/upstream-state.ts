import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Where a switchover pointed the proxy: kept beside the journal so a restarted proxy stays there. */
export interface UpstreamFlip {
  host: string;
  port: number;
  /** The journal seq the gate was locked at when the proxy flipped. */
  seq: number;
  at: string;
}

const FILE = 'upstream.json';

export function readUpstreamFlip(journalDir: string): UpstreamFlip | null {
  let text: string;
  try {
    text = readFileSync(join(journalDir, FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const v = JSON.parse(text) as UpstreamFlip;
  if (typeof v.host !== 'string' || !Number.isInteger(v.port) || !Number.isInteger(v.seq)) {
    throw new Error(`${join(journalDir, FILE)} is malformed: expected {host, port, seq, at}; fix or delete it (deleting returns the proxy to upstream in its config)`);
  }
  return v;
}

/** Written whole or not at all (temp file, fsync, rename), before any session moves. */
export function writeUpstreamFlip(journalDir: string, flip: UpstreamFlip): void {
  const tmp = join(journalDir, `${FILE}.tmp`);
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(flip)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(journalDir, FILE));
  const dir = openSync(journalDir, 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
