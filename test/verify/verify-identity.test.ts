// Identity verification against real servers: chunk checksums find exactly the rows, columns and
// tables that differ, repair makes the target equal again, scope limits what is checked, and
// the CLI reports and exits accordingly.
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { identityPack } from '../../src/translate/identity.js';
import type { TargetSession } from '../../src/apply/target-session.js';
import { repairDifferences, verifyData, type VerifyReport } from '../../src/verify/verify.js';
import { verifyCommand } from '../../src/cli/verify-command.js';
import { checksumTables, compareChecksums } from '../../src/verify/checksum-tables.js';
import mysql from 'mysql2/promise';
import { createShop, root, snapshot, url } from './verify-fixture.js';

let source: MariaDB;
let target: MariaDB;

beforeAll(async () => {
  [source, target] = await Promise.all([startMariaDB({ name: 'verify-src' }), startMariaDB({ name: 'verify-dst' })]);
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

beforeEach(async () => {
  await Promise.all([createShop(source), createShop(target)]);
});

async function verify(extra: Partial<Parameters<typeof verifyData>[0]> = {}): Promise<VerifyReport> {
  const [s, t] = [await snapshot(source), await snapshot(target)];
  try {
    return await verifyData({ pack: identityPack, source: s, target: t, chunkRows: 500, ...extra });
  } finally {
    await Promise.all([s.close(), t.close()]);
  }
}

async function withSessions<T>(run: (s: TargetSession, t: TargetSession) => Promise<T>): Promise<T> {
  const [s, t] = [await snapshot(source), await snapshot(target)];
  try {
    return await run(s, t);
  } finally {
    await Promise.all([s.close(), t.close()]);
  }
}

async function sameChecksums(db: string): Promise<string[]> {
  const sums = async (server: MariaDB) => {
    const c = await mysql.createConnection(root(server));
    try {
      return await checksumTables(c, db);
    } finally {
      await c.end();
    }
  };
  return compareChecksums(await sums(source), await sums(target));
}

/** One of each kind of difference, made on the target. */
async function corruptTarget(): Promise<void> {
  await target.query(`
    UPDATE shop.t1 SET name = 'changed' WHERE id = 5;
    UPDATE shop.t1 SET note = '' WHERE id = 42;
    UPDATE shop.t1 SET b = X'00FF02' WHERE id = 77;
    DELETE FROM shop.t1 WHERE id = 1700;
    INSERT INTO shop.t1 (id, name, price) VALUES (9999, 'extra', 1);
    UPDATE shop.t2 SET v = -1 WHERE a = 3 AND b = 'k13';
    ALTER TABLE shop.t3 ADD COLUMN extra INT;
    INSERT INTO shop.nopk VALUES (1, 'y1');
    DROP TABLE db2.other;
    CREATE DATABASE IF NOT EXISTS metamorph_replay; CREATE TABLE IF NOT EXISTS metamorph_replay.applied_copy (id INT);
  `);
}

describe('verify, identity pack', () => {
  it('equal servers are clean: every table of every database checked in chunks, metamorph_* left out', async () => {
    await target.query('CREATE DATABASE IF NOT EXISTS metamorph_migrate; CREATE TABLE IF NOT EXISTS metamorph_migrate.x (id INT)');
    const report = await verify();
    expect(report.differences).toEqual([]);
    expect(report).toMatchObject({ clean: true, truncated: false, pack: 'identity' });
    expect(report.checked.tables).toBe(5);
    expect(report.checked.rows).toBe(2500 + 300 + 50 + 40 + 20);
    // t1: 5 full chunks and the rest, t2 one chunk, t3 one, nopk whole, other one.
    expect(report.checked.chunks).toBe(6 + 1 + 1 + 1 + 1);
  });

  it('finds exactly each changed column, NULL against \'\', binary bytes, missing and extra rows, and whole-table differences; repair makes the target equal', async () => {
    await corruptTarget();
    const report = await verify();
    expect(report.clean).toBe(false);
    const lines = report.differences.map((d) => ({ item: d.item, side: d.side, field: d.field, source: d.source, target: d.target }));
    expect(lines).toEqual([
      { item: 'db2.other', side: 'source-only', field: '', source: 'table, 20 rows', target: undefined },
      { item: 'shop.nopk', side: 'both', field: 'rows', source: expect.stringMatching(/^40 rows/), target: expect.stringMatching(/^41 rows/) },
      { item: 'shop.t1 id=5', side: 'both', field: 'name', source: 'name5', target: 'changed' },
      { item: 'shop.t1 id=42', side: 'both', field: 'note', source: null, target: '' },
      { item: 'shop.t1 id=77', side: 'both', field: 'b', source: '0x00ff4d', target: '0x00ff02' },
      { item: 'shop.t1 id=1700', side: 'source-only', field: '', source: undefined, target: undefined },
      { item: 'shop.t1 id=9999', side: 'target-only', field: '', source: undefined, target: undefined },
      { item: 'shop.t2 a=3 b=k13', side: 'both', field: 'v', source: '13', target: '-1' },
      { item: 'shop.t3', side: 'both', field: 'definition', source: expect.stringContaining('CREATE TABLE'), target: expect.stringContaining('`extra`') },
    ]);

    const repaired = await withSessions((s, t) => repairDifferences(report, { pack: identityPack, source: s, target: t }));
    expect(repaired.failed).toEqual([]);
    expect(repaired.repaired.sort()).toEqual(report.differences.map((d) => d.item).sort());
    expect((await verify()).differences).toEqual([]);
    expect(await sameChecksums('shop')).toEqual([]);
    expect(await sameChecksums('db2')).toEqual([]);
  });

  it('scope limits the check to the tables named', async () => {
    await corruptTarget();
    const report = await verify({ scope: { tables: ['shop.t2'] } });
    expect(report.checked.tables).toBe(1);
    expect(report.differences.map((d) => d.item)).toEqual(['shop.t2 a=3 b=k13']);
    const none = await verify({ scope: { tables: [] } });
    expect(none).toMatchObject({ clean: true, checked: { tables: 0, chunks: 0 } });
  });

  it('a live source leaves out tables no snapshot holds still (MyISAM), with a note; compared when it is not live', async () => {
    for (const server of [source, target]) await server.query("CREATE TABLE shop.search (id INT PRIMARY KEY, words TEXT) ENGINE=MyISAM; INSERT INTO shop.search VALUES (1, 'a')");
    await target.query("UPDATE shop.search SET words = 'b'");
    const live = await verify({ liveSource: true });
    expect(live.clean).toBe(true);
    expect(live.notes).toEqual([expect.stringContaining('shop.search: MyISAM table')]);
    const held = await verify({ scope: { tables: ['shop.search'] } });
    expect(held.differences).toEqual([expect.objectContaining({ item: expect.stringContaining('shop.search'), side: 'both', field: 'words' })]);
  });

  it('maxDifferences truncates the report, which is then not clean', async () => {
    await target.query('UPDATE shop.t1 SET price = price + 1 WHERE id <= 30');
    const report = await verify({ maxDifferences: 10 });
    expect(report.differences).toHaveLength(10);
    expect(report).toMatchObject({ truncated: true, clean: false });
  });

  it('metamorph verify: exit 0 when clean, 1 with the differences printed one per line, --repair then 0, 2 on usage errors', async () => {
    const out: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { out.push(a.join(' ')); });
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const args = ['--source', url(source), '--target', url(target), '--pack', 'identity', '--chunk-rows', '400'];
      expect(await verifyCommand(args)).toBe(0);
      expect(out.join('\n')).toMatch(/checked 5 tables, \d+ chunks, 2910 rows[\s\S]*clean: no differences/);
      await target.query("UPDATE shop.t1 SET name = 'changed' WHERE id = 5; DELETE FROM shop.t2 WHERE a = 3 AND b = 'k13'");
      out.length = 0;
      expect(await verifyCommand(args)).toBe(1);
      expect(out).toContain('  shop.t1 id=5 [both] name: source="name5" target="changed"');
      expect(out).toContain('  shop.t2 a=3 b=k13 [source-only]');
      out.length = 0;
      expect(await verifyCommand([...args, '--json'])).toBe(1);
      const json = JSON.parse(out.join('\n'));
      expect(json.differences).toHaveLength(2);
      expect(json.differences[0].ref).toBeUndefined();
      out.length = 0;
      expect(await verifyCommand([...args, '--repair'])).toBe(0);
      expect(out.join('\n')).toContain('after repair: clean');
      expect(await verifyCommand(args)).toBe(0);
      expect(await verifyCommand(['--source', url(source), '--target', url(target)])).toBe(2);
      expect(await verifyCommand([...args.slice(0, 4), '--pack', 'nosuchpack'])).toBe(2);
      expect(await verifyCommand([...args, '--chunk-rows', '0'])).toBe(2);
      out.length = 0;
      expect(await verifyCommand(['--help'])).toBe(0);
      expect(out.join('\n')).toContain('only those that\n                       persist are reported');
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
  });
});
