// `migrate` with an upgrade command: the application's own updater (here the mariadb CLI loading
// the 1.5 DDL, its stand-in) makes the target schema instead of the pack, run locally or over ssh,
// and the item conversion into that schema gives the wiki the 1.5 updater makes of the source.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { startSshd, type Sshd } from '../harness/sshd.js';
import { startProxy } from '../proxy/proxy-fixture.js';
import { TargetSession } from '../../src/apply/target-session.js';
import { Migration } from '../../src/migrate/migrate.js';
import type { UpgradeCommand } from '../../src/migrate/upgrade-command.js';
import type { Pack } from '../../src/translate/pack.js';
import { loadPack } from '../../src/translate/registry.js';
import { runOracleUpgrade } from '../../src/translate/mediawiki/oracle-updater.js';
import { diffProjections, projectWiki15 } from '../../src/translate/mediawiki/projection.js';
import { SCHEMA_1_5 } from '../../src/translate/mediawiki/schema-1.5.js';
import { CONNECT_OPTIONS_14, MARIADB_ARGS_14, loadSchema14, runWorkload14 } from '../../src/translate/mediawiki/workload-1.4.js';

let server: MariaDB;
let sshd: Sshd;
let pack: Pack;
let dir: string;
let schemaFile: string;

beforeAll(async () => {
  [server, sshd] = await Promise.all([startMariaDB({ name: 'mg-upgrade', args: MARIADB_ARGS_14 }), startSshd()]);
  pack = await loadPack('mediawiki-1.4-to-1.5');
  dir = mkdtempSync(join(tmpdir(), 'metamorph-upgrade-'));
  schemaFile = join(dir, 'schema-1.5.sql');
  // updater_ran: what only the command makes, as MediaWiki's updater leaves its own traces.
  writeFileSync(schemaFile, [...SCHEMA_1_5, 'CREATE TABLE updater_ran (id INT PRIMARY KEY)'].map((ddl) => `${ddl};\n`).join(''));
}, 60_000);

afterAll(async () => {
  await sshd?.stop();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const root = () => ({ host: '127.0.0.1', port: server.port, user: 'root', password: '' });

/** The updater's stand-in: the 1.5 tables loaded into the database the migration names. */
const loadSchemaCommand = () => `mariadb --no-defaults -h127.0.0.1 -P${server.port} -uroot "$METAMORPH_TARGET_DB" < ${schemaFile}`;

/** A small 1.4 wiki written through a proxy, then migrated with `upgrade`; returns the migration's outcome. */
async function migrateWith(sourceDb: string, targetDb: string, upgrade: UpgradeCommand) {
  const setup = await mysql.createConnection({ ...root(), ...CONNECT_OPTIONS_14 });
  try {
    await loadSchema14(setup, sourceDb);
    await setup.query('DROP DATABASE IF EXISTS metamorph_migrate');
  } finally {
    await setup.end();
  }
  const proxy = await startProxy(server.port);
  try {
    const conn = () => mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root', database: sourceDb, ...CONNECT_OPTIONS_14 });
    await runWorkload14({ conn, hitcounterUpdateFreq: 1, compressRevisions: true, clients: 2, actions: 200, seed: 61 });
    const migration = new Migration({ source: root(), target: root(), pack, adminSocket: proxy.adminSocket, journalDir: proxy.journalDir, sourceDb, targetDb, upgradeCommand: upgrade });
    return await migration.run();
  } finally {
    await proxy.stop();
  }
}

async function diffFromOracle(source: string, converted: string, oracle: string): Promise<string[]> {
  const session = await TargetSession.open(root());
  try {
    await runOracleUpgrade(session, source, oracle);
    return diffProjections(await projectWiki15(session, converted), await projectWiki15(session, oracle), ['converted', 'oracle']);
  } finally {
    await session.close();
  }
}

describe('migrate with an upgrade command making the target schema', () => {
  it('a local command: the target gets its schema from it (not the pack too) and the conversion matches the 1.5 updater', async () => {
    const result = await migrateWith('local_14', 'local_15', { command: loadSchemaCommand() });
    expect(result.complete).toBe(true);
    expect(result.convertedItems).toBeGreaterThan(20);
    expect(await server.query('SELECT id FROM local_15.updater_ran')).toEqual([]);
    expect(await diffFromOracle('local_14', 'local_15', 'local_oracle')).toEqual([]);
  }, 60_000);

  it('the same command over ssh, with the target DSN in its environment', async () => {
    const dsnFile = join(dir, 'dsn.txt');
    const ssh = { host: sshd.host, port: sshd.port, username: sshd.username, privateKey: readFileSync(sshd.clientKeyPath), hostKeySha256: sshd.hostKeyFingerprint };
    const result = await migrateWith('ssh_14', 'ssh_15', { command: `echo "$METAMORPH_TARGET_DSN" > ${dsnFile} && ${loadSchemaCommand()}`, ssh });
    expect(result.complete).toBe(true);
    expect(readFileSync(dsnFile, 'utf8').trim()).toBe(`mysql://root@127.0.0.1:${server.port}/ssh_15`);
    expect(await server.query('SELECT id FROM ssh_15.updater_ran')).toEqual([]);
    expect(await diffFromOracle('ssh_14', 'ssh_15', 'ssh_oracle')).toEqual([]);
  }, 60_000);

  it('a failing command: run() rejects naming the command, its exit code and stderr, and no item reaches the target', async () => {
    const command = 'echo starting; echo boom >&2; exit 3';
    const failure = migrateWith('fail_14', 'fail_15', { command });
    await expect(failure).rejects.toMatchObject({ name: 'MigrateError', code: 'MIGRATE_UPGRADE_FAILED' });
    const message = (await failure.catch((err: Error) => err)).message;
    expect(message).toContain(JSON.stringify(command));
    expect(message).toContain('exit code 3');
    expect(message).toContain('boom');
    expect(await server.query("SELECT item_type FROM metamorph_migrate.items WHERE item_type <> 'target-database'")).toEqual([]);
    expect(await server.query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'fail_15'")).toEqual([]);
  }, 60_000);
});
