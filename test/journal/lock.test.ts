import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JournalError } from '../../src/journal/errors.js';
import { JournalWriter } from '../../src/journal/journal-writer.js';
import { cleanup, logCollector, silent, tempDir, txn } from './helpers.js';

afterAll(cleanup);

describe('writer lock', () => {
  it('refuses a second writer on the same directory until the first closes', async () => {
    const dir = await tempDir();
    const first = await JournalWriter.open({ dir, fsync: 'always', log: silent });
    expect(await readFile(join(dir, 'writer.lock'), 'utf8')).toBe(`${process.pid}\n`);
    const err = await JournalWriter.open({ dir, fsync: 'always', log: silent }).catch((e: JournalError) => e);
    expect(err).toBeInstanceOf(JournalError);
    expect((err as JournalError).code).toBe('JOURNAL_LOCKED');
    expect((err as JournalError).message).toContain(`pid ${process.pid}`);
    await first.append(txn(1, 'INSERT INTO l VALUES (1)'));
    await first.close();
    const second = await JournalWriter.open({ dir, fsync: 'always', log: silent });
    expect(second.headSeq).toBe(1);
    await second.close();
  });

  it('refuses a lock held by another live process, and takes over one whose process is gone', async () => {
    const dir = await tempDir();
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    await writeFile(join(dir, 'writer.lock'), `${child.pid}\n`);
    await expect(JournalWriter.open({ dir, fsync: 'always', log: silent })).rejects.toMatchObject({ code: 'JOURNAL_LOCKED' });
    child.kill('SIGKILL');
    await new Promise((done) => child.on('close', done));

    const { log, lines } = logCollector();
    const w = await JournalWriter.open({ dir, fsync: 'always', log });
    expect(lines).toEqual([{ msg: 'taking over a stale journal lock', extra: { path: join(dir, 'writer.lock'), stalePid: child.pid } }]);
    expect(await readFile(join(dir, 'writer.lock'), 'utf8')).toBe(`${process.pid}\n`);
    await w.close();
  });
});
