// Item-pack verification with mediawiki-1.4-to-1.5: a generated 1.4 wiki converted item by item
// verifies clean; a corrupted revision text and a renamed page on the target are reported as
// exactly those items and fields, and repair (converting them again) makes it clean.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import mysql from 'mysql2/promise';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { TargetSession } from '../../src/apply/target-session.js';
import type { Pack } from '../../src/translate/pack.js';
import { loadPack } from '../../src/translate/registry.js';
import { SCHEMA_1_5 } from '../../src/translate/mediawiki/schema-1.5.js';
import { generateWiki14 } from '../../src/translate/mediawiki/generate-wiki-1.4.js';
import { CONNECT_OPTIONS_14, MARIADB_ARGS_14, loadSchema14 } from '../../src/translate/mediawiki/workload-1.4.js';
import { repairDifferences, verifyData, type VerifyReport } from '../../src/verify/verify.js';
import { verifyCommand } from '../../src/cli/verify-command.js';
import { root, snapshot, url } from './verify-fixture.js';

let server: MariaDB;
let pack: Pack;

beforeAll(async () => {
  server = await startMariaDB({ name: 'verify-mw', args: MARIADB_ARGS_14 });
  pack = await loadPack('mediawiki-1.4-to-1.5');
  const setup = await mysql.createConnection({ ...root(server), ...CONNECT_OPTIONS_14 });
  try {
    await loadSchema14(setup, 'wiki14');
    await generateWiki14(setup, { pages: 40, revisionsPerPage: 3, users: 6, archivedPages: 4, seed: 11 });
  } finally {
    await setup.end();
  }
  await server.query('CREATE DATABASE wiki15');
  const target = await TargetSession.open(root(server, 'wiki15'));
  const source = await snapshot(server, 'wiki14');
  try {
    for (const ddl of SCHEMA_1_5) await target.exec(ddl);
    await pack.prepareTarget!(target, 'wiki15');
    for await (const item of pack.listItems!(source)) await pack.convertItem!(item, source, target);
  } finally {
    await Promise.all([source.close(), target.close()]);
  }
});

afterAll(async () => {
  await server?.stop();
});

async function verify(extra: Partial<Parameters<typeof verifyData>[0]> = {}): Promise<VerifyReport> {
  const [s, t] = [await snapshot(server), await snapshot(server)];
  try {
    return await verifyData({ pack, source: s, target: t, sourceDb: 'wiki14', targetDb: 'wiki15', ...extra });
  } finally {
    await Promise.all([s.close(), t.close()]);
  }
}

describe('verify, mediawiki-1.4-to-1.5 pack', () => {
  it('a converted wiki is clean; a corrupted revision text and a renamed page are reported exactly, and repaired', async () => {
    const clean = await verify();
    expect(clean.differences).toEqual([]);
    expect(clean.clean).toBe(true);
    expect(clean.checked.items).toBeGreaterThanOrEqual(40 + 6);
    // Archive-only titles and whole tables are items the pack converts but does not project.
    expect(clean.notes?.join('\n')).toMatch(/archive item\(s\) not compared/);

    // An older revision (not the current one) of one page, and the title of another.
    const [rev] = await server.query(
      `SELECT p.page_namespace AS ns, p.page_title AS title, r.rev_text_id AS text_id FROM wiki15.page p JOIN wiki15.revision r ON r.rev_page = p.page_id
        WHERE r.rev_id <> p.page_latest ORDER BY p.page_id LIMIT 1`) as { ns: number; title: Buffer; text_id: number }[];
    const [renamed] = await server.query(
      `SELECT page_namespace AS ns, page_title AS title FROM wiki15.page WHERE NOT (page_namespace = ? AND page_title = ?) ORDER BY page_id DESC LIMIT 1`,
      [rev.ns, rev.title]) as { ns: number; title: Buffer }[];
    await server.query("UPDATE wiki15.text SET old_text = 'vandalised', old_flags = 'utf-8' WHERE old_id = ?", [rev.text_id]);
    await server.query("UPDATE wiki15.page SET page_title = CONCAT(page_title, '_moved') WHERE page_namespace = ? AND page_title = ?", [renamed.ns, renamed.title]);

    const report = await verify();
    const revKey = `page ${rev.ns}:${rev.title.toString('utf8')}`;
    const oldKey = `page ${renamed.ns}:${renamed.title.toString('utf8')}`;
    // Source items in the pack's list order (namespace, then title bytes), then those only on the target.
    const fromSource = [
      { at: rev, d: { item: revKey, side: 'both', field: 'page.revisions[n].text' } },
      { at: renamed, d: { item: oldKey, side: 'source-only', field: '' } },
    ].sort((a, b) => a.at.ns - b.at.ns || Buffer.compare(a.at.title, b.at.title)).map((x) => x.d);
    expect(report.differences.map((d) => ({ item: d.item, side: d.side, field: d.field.replace(/\[\d+\]/, '[n]') }))).toEqual([
      ...fromSource,
      { item: `${oldKey}_moved`, side: 'target-only', field: '' },
    ]);
    expect(report.differences.find((d) => d.side === 'both')?.target).toBe('vandalised');

    // scope: only the items named are looked at.
    const scoped = await verify({ scope: { items: [{ type: 'page', key: `${rev.ns}:${rev.title.toString('utf8')}` }] } });
    expect(scoped.checked.items).toBe(1);
    expect(scoped.differences.map((d) => d.item)).toEqual([revKey]);

    const [s, t] = [await snapshot(server), await TargetSession.open(root(server))];
    try {
      const repaired = await repairDifferences(report, { pack, source: s, target: t, sourceDb: 'wiki14', targetDb: 'wiki15' });
      expect(repaired.failed).toEqual([]);
      expect(repaired.repaired.sort()).toEqual([revKey, oldKey, `${oldKey}_moved`].sort());
    } finally {
      await Promise.all([s.close(), t.close()]);
    }
    expect((await verify()).differences).toEqual([]);
  });

  it('metamorph verify --pack mediawiki-1.4-to-1.5: exit 1 naming the item and field, --repair fixes it', async () => {
    const out: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { out.push(a.join(' ')); });
    try {
      const [user] = await server.query('SELECT user_id AS id FROM wiki15.user ORDER BY user_id DESC LIMIT 1') as { id: number }[];
      await server.query("UPDATE wiki15.user SET user_real_name = 'Someone Else' WHERE user_id = ?", [user.id]);
      const args = ['--source', url(server), '--target', url(server), '--pack', 'mediawiki-1.4-to-1.5', '--source-db', 'wiki14', '--target-db', 'wiki15'];
      expect(await verifyCommand(args)).toBe(1);
      expect(out.filter((l) => l.includes('[both]'))).toEqual([expect.stringMatching(new RegExp(`^  user ${user.id} \\[both\\] realName: source=".*" target="Someone Else"$`))]);
      out.length = 0;
      expect(await verifyCommand([...args, '--repair'])).toBe(0);
      expect(out.join('\n')).toContain(`repaired 1 item(s)`);
      expect(await verifyCommand(args)).toBe(0);
    } finally {
      log.mockRestore();
    }
  });
});
