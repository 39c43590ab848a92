import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Where journal consumers (replayers) publish how far they have applied: one small JSON file
 * per consumer under `<journal dir>/consumers/`. The proxy reads them for lag and retention;
 * a consumer's authoritative position lives in its target, this is the shared view of it.
 */
export interface ConsumerCheckpoint { name: string; seq: number; updatedAt: number }

const DIR = 'consumers';
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export async function writeCheckpoint(journalDir: string, name: string, seq: number): Promise<void> {
  if (!NAME.test(name)) throw new Error(`consumer name must match ${NAME} (got ${JSON.stringify(name)})`);
  const dir = join(journalDir, DIR);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  const body: ConsumerCheckpoint = { name, seq, updatedAt: Date.now() };
  await writeFile(tmp, JSON.stringify(body), { mode: 0o600 });
  await rename(tmp, join(dir, `${name}.json`)); // atomic: readers never see half a file
}

/** A consumer that will never apply again (a replayer retired by a switchover) stops counting for lag and retention. */
export async function removeCheckpoint(journalDir: string, name: string): Promise<void> {
  if (!NAME.test(name)) throw new Error(`consumer name must match ${NAME} (got ${JSON.stringify(name)})`);
  await rm(join(journalDir, DIR, `${name}.json`), { force: true });
}

export async function readCheckpoints(journalDir: string): Promise<ConsumerCheckpoint[]> {
  const dir = join(journalDir, DIR);
  let files: string[];
  try {
    files = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: ConsumerCheckpoint[] = [];
  for (const f of files.filter((x) => x.endsWith('.json'))) {
    try {
      const c = JSON.parse(await readFile(join(dir, f), 'utf8')) as ConsumerCheckpoint;
      if (typeof c.name === 'string' && Number.isSafeInteger(c.seq)) out.push(c);
    } catch {
      // Written by rename, so a file is whole or absent; a stray unreadable one is not a consumer.
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
