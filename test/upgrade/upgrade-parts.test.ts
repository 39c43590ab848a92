import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRequest } from '../../src/admin/admin-client.js';
import { silentLogger } from '../../src/log.js';
import { copyAccounts } from '../../src/migrate/copy-accounts.js';
import { UpgradeAdmin, type UpgradeControl } from '../../src/upgrade/upgrade-admin.js';
import { loadUpgradeConfig, parseUpgradeConfig } from '../../src/upgrade/upgrade-config.js';
import { initialState, StateFile } from '../../src/upgrade/upgrade-state.js';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { serverOptions } from '../migrate/migrate-fixture.js';

const dir = mkdtempSync('/dev/shm/metamorph-upgrade-parts-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const minimal = () => ({
  pack: 'identity',
  source: 'mysql://root:s3cret@127.0.0.1:3306/',
  proxy: { adminSocket: 'run/admin.sock', journalDir: 'journal' },
  provision: { provider: 'existing', dsn: 'mysql://root:topsecret@127.0.0.1:3307/' },
  stateDir: 'state',
});

describe('upgrade config', () => {
  it('fills defaults and resolves relative paths against the config file', () => {
    const file = join(dir, 'upgrade.json');
    writeFileSync(file, JSON.stringify({ ...minimal(), accounts: ['app', 'wiki@localhost'], metrics: '127.0.0.1:9999', switchover: { flipTo: 'db2:3306', totalMs: 9000 } }));
    const c = loadUpgradeConfig(file);
    expect(c.proxy).toEqual({ adminSocket: join(dir, 'run/admin.sock'), journalDir: join(dir, 'journal') });
    expect(c.stateDir).toBe(join(dir, 'state'));
    expect(c.adminSocket).toBe(join(dir, 'state', 'upgrade.sock'));
    expect(c.metrics).toEqual({ host: '127.0.0.1', port: 9999 });
    expect(c.source).toMatchObject({ user: 'root', password: 's3cret', port: 3306 });
    expect(c.switchover.flipTo).toEqual({ host: 'db2', port: 3306 });
    expect(c.switchover.budgets).toEqual({ lockMs: 2000, catchUpMs: 2000, verifyMs: 5000, flipMs: 5000, totalMs: 9000 });
    expect(c.verify).toMatchObject({ intervalSeconds: 30, repair: false });
    expect(c.migrate).toMatchObject({ workers: 4, chunkRows: 10_000, databases: null });
  });

  const bad: [string, Record<string, unknown>, string][] = [
    ['unknown top-level key', { stateDirr: 'x' }, 'upgrade config: stateDirr: unknown key'],
    ['unknown nested key', { migrate: { worker: 2 } }, 'upgrade config: migrate.worker: unknown key'],
    ['wrong type', { verify: { intervalSeconds: 'often' } }, 'upgrade config: verify.intervalSeconds: must be a number'],
    ['integer expected', { migrate: { workers: 1.5 } }, 'upgrade config: migrate.workers: must be an integer'],
    ['bad host:port', { switchover: { flipTo: 'db2' } }, 'upgrade config: switchover.flipTo: expected HOST:PORT'],
    ['provider key', { provision: { provider: 'existing', dsn: 'mysql://a:b@h:1/', colour: 1 } }, 'upgrade config: provision.colour: unknown key'],
    ['accounts', { accounts: ['a b'] }, 'upgrade config: accounts: must be a list'],
    ['a translated pack without a flip hook', { pack: 'mediawiki-1.4-to-1.5' }, 'upgrade config: switchover.hook: required for pack "mediawiki-1.4-to-1.5"'],
  ];
  for (const [what, patch, message] of bad) {
    it(`names the key: ${what}`, () => {
      expect(() => parseUpgradeConfig({ ...minimal(), ...patch }, dir)).toThrow(message);
    });
  }

  it('a missing key is named, and a DSN\'s password never shows in an error', () => {
    const { stateDir: _, ...noState } = minimal();
    expect(() => parseUpgradeConfig(noState, dir)).toThrow('upgrade config: stateDir: required');
    let message = '';
    try {
      parseUpgradeConfig({ ...minimal(), source: 'mysql://root:hunter2@db1:3306/a/b' }, dir);
    } catch (err) {
      message = (err as Error).message;
      expect((err as { code?: string }).code).toBe('CONFIG_INVALID');
    }
    expect(message).toMatch(/^upgrade config: source: /);
    expect(message).not.toContain('hunter2');
  });
});

describe('upgrade state', () => {
  it('saves atomically (mode 0600, no temp file left) and loads what it saved', () => {
    const f = new StateFile(join(dir, 'st'));
    expect(f.load()).toBeNull();
    const s = { ...initialState(), phase: 'verify' as const, cutSeq: 42, flips: [{ direction: 'forward' as const, seq: 50, at: 'now', holdMs: 12 }] };
    f.save(s);
    f.save({ ...s, cutSeq: 43 });
    expect(f.load()).toMatchObject({ phase: 'verify', cutSeq: 43, flips: [{ direction: 'forward', seq: 50 }] });
    expect(statSync(f.path).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'st'))).toEqual(['state.json']);
  });

  it('a state file that is not JSON is an error that says what to do', () => {
    const f = new StateFile(join(dir, 'broken'));
    f.save(initialState());
    writeFileSync(f.path, '{"version": 1, "pha');
    expect(() => f.load()).toThrow(/is not JSON .*remove the state directory to start over/);
  });
});

describe('upgrade admin socket', () => {
  it('is mode 0600 and answers status, commands in order, and unknown commands', async () => {
    const calls: string[] = [];
    const control: UpgradeControl = {
      status: () => ({ ok: true, phase: 'waiting' }),
      switchover: async () => { calls.push('switchover'); await new Promise((r) => setTimeout(r, 50)); return { ok: true, holdMs: 3 }; },
      rollback: async () => { calls.push('rollback'); throw Object.assign(new Error('the old server serves'), { code: 'UPGRADE_NOT_NOW' }); },
      abort: async () => ({ ok: true }),
      finish: async () => ({ ok: true }),
    };
    const path = join(dir, 'adm', 'upgrade.sock');
    const admin = await UpgradeAdmin.start(path, control, silentLogger());
    try {
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(await adminRequest(path, 'status')).toEqual({ ok: true, phase: 'waiting' });
      expect(await adminRequest(path, 'switchover')).toEqual({ ok: true, holdMs: 3 });
      expect(await adminRequest(path, 'rollback')).toEqual({ ok: false, error: 'the old server serves', code: 'UPGRADE_NOT_NOW' });
      expect(await adminRequest(path, 'flip')).toMatchObject({ ok: false, error: 'unknown command "flip"' });
      expect(calls).toEqual(['switchover', 'rollback']);
      await expect(UpgradeAdmin.start(path, control, silentLogger())).rejects.toMatchObject({ code: 'UPGRADE_ALREADY_RUNNING' });
    } finally {
      await admin.close();
    }
  });
});

describe('copy accounts', () => {
  let source: MariaDB;
  let target: MariaDB;
  beforeAll(async () => {
    [source, target] = await Promise.all([startMariaDB({ name: 'acct-src' }), startMariaDB({ name: 'acct-dst' })]);
    await source.query(`CREATE USER 'shop'@'%' IDENTIFIED BY 'shoppw'; CREATE USER 'shop'@'localhost' IDENTIFIED BY 'shoppw2';
      CREATE DATABASE shopdb; GRANT SELECT, INSERT, UPDATE ON shopdb.* TO 'shop'@'%'; GRANT SELECT ON shopdb.* TO 'shop'@'localhost';
      CREATE USER 'reader'@'%' IDENTIFIED BY 'rpw' WITH MAX_USER_CONNECTIONS 7; GRANT SELECT ON *.* TO 'reader'@'%'`);
    await target.query('CREATE DATABASE shopdb');
  });
  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('copies CREATE USER and GRANTs for every host of a user; idempotent; the copied login works on the target', async () => {
    const [s, t] = [await mysql.createConnection(serverOptions(source)), await mysql.createConnection(serverOptions(target))];
    try {
      // The target already has one of them with another password: the copy makes it the source's.
      await target.query(`CREATE USER 'reader'@'%' IDENTIFIED BY 'old'`);
      const first = await copyAccounts(s, t, ['shop', 'reader@%'], silentLogger());
      expect(first.map((a) => `${a.user}@${a.host}`)).toEqual(['shop@%', 'shop@localhost', 'reader@%']);
      const again = await copyAccounts(s, t, ['shop', 'reader@%'], silentLogger());
      expect(again.length).toBe(3);
      for (const [user, host] of [['shop', '%'], ['shop', 'localhost'], ['reader', '%']]) {
        const grants = async (server: MariaDB) => (await server.query('SHOW GRANTS FOR ?@?', [user, host]) as Record<string, string>[]).map((r) => Object.values(r)[0]).sort();
        expect(await grants(target)).toEqual(await grants(source));
      }
      const login = await mysql.createConnection({ host: '127.0.0.1', port: target.port, user: 'reader', password: 'rpw' });
      await login.end();
      const app = await mysql.createConnection({ host: '127.0.0.1', port: target.port, user: 'shop', password: 'shoppw', database: 'shopdb' });
      await app.query('CREATE TABLE IF NOT EXISTS x (id INT)').then(() => { throw new Error('shop must not have CREATE'); }, (e: { errno?: number }) => expect(e.errno).toBe(1142));
      await app.end();
      await expect(copyAccounts(s, t, ['nobody'], silentLogger())).rejects.toMatchObject({ code: 'MIGRATE_BAD_OPTION', message: expect.stringContaining('"nobody" does not exist on the source') });
    } finally {
      await Promise.all([s.end(), t.end()]);
    }
  });
});
