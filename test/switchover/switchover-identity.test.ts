import { afterAll, beforeAll, expect, it } from 'vitest';
import { insertedId, WriteLoad } from '../harness/write-load.js';
import { compareChecksums } from '../../src/verify/checksum-tables.js';
import { runSwitchover, type SwitchoverReport } from '../../src/switchover/switchover.js';
import { checksumsOf, DB, LOAD_TABLE, startSwitchoverWorld, type SwitchoverWorld } from './switchover-fixture.js';

let w: SwitchoverWorld;

beforeAll(async () => {
  w = await startSwitchoverWorld('sw-identity');
});

afterAll(async () => {
  await w?.stop();
});

it('identity switchover under a write load on kept-open connections: no client error, the new server serves, equal at the locked seq', async () => {
  const load = WriteLoad.start({ port: w.proxy.port, database: DB, table: LOAD_TABLE, workers: 4 });
  let report: SwitchoverReport | undefined;
  try {
    await load.untilAcked(100);
    report = await runSwitchover(w.plan());
    await load.untilAcked(100);
  } finally {
    const result = await load.stop();
    expect(result.errors).toEqual([]);
  }
  if (!report) throw new Error('no report');
  expect(report.aborted).toBeNull();
  expect(report).toMatchObject({ ok: true, rehearsal: false, flipped: true, standbyStopped: true });
  expect(report.steps.map((s) => s.name)).toEqual(['preconditions', 'lock', 'catch-up', 'verify', 'stop-standby', 'flip', 'unlock']);
  expect(report.finalSeq).toBe(report.lockedSeq);
  expect(report.holdMs).toBeGreaterThan(0);
  expect((await w.status()).upstream).toBe(`127.0.0.1:${w.target.port}`);

  // Writes after the flip are journaled and landed on the new server only.
  const lockedSeq = report.lockedSeq as number;
  const entries = await w.proxy.entries();
  const before = entries.filter((e) => e.seq <= lockedSeq).map(insertedId).filter((id) => id !== null);
  const after = entries.filter((e) => e.seq > lockedSeq).map(insertedId).filter((id) => id !== null);
  expect(after.length).toBeGreaterThan(0);
  const on = async (server: 'source' | 'target', ids: number[]) => Number((await w[server].query(`SELECT COUNT(*) AS n FROM ${LOAD_TABLE} WHERE id IN (${ids.join(',')})`))[0].n);
  expect(await on('target', after)).toBe(after.length);
  expect(await on('source', after)).toBe(0);
  expect(Number((await w.source.query(`SELECT COUNT(*) AS n FROM ${LOAD_TABLE}`))[0].n)).toBe(before.length);

  // The old server stopped at the locked seq; the new one, without what came after it, is equal to it.
  await w.target.query(`CREATE DATABASE at_lock; CREATE TABLE at_lock.item LIKE ${DB}.item; INSERT INTO at_lock.item SELECT * FROM ${DB}.item;
    CREATE TABLE at_lock.load_rows LIKE ${LOAD_TABLE}; INSERT INTO at_lock.load_rows SELECT * FROM ${LOAD_TABLE} WHERE id IN (${before.join(',')})`);
  const [old, atLock] = [await checksumsOf(w.source, DB), await checksumsOf(w.target, 'at_lock')];
  expect(old.map((t) => t.table)).toEqual(['item', 'load_rows']);
  expect(compareChecksums(old, atLock)).toEqual([]);
});
