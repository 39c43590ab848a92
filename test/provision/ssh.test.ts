import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProvider } from '../../src/provision/provider.js';
import { SshCommandError } from '../../src/provision/ssh-session.js';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { requireBinaries } from '../harness/require-binaries.js';
import { startSshd, type Sshd } from '../harness/sshd.js';

// The "remote" host is this machine: sshd on 127.0.0.1, and a MariaDB its commands reach.
let sshd: Sshd;
let db: MariaDB;

beforeAll(async () => {
  requireBinaries(['mariadb']);
  [sshd, db] = await Promise.all([startSshd(), startMariaDB({ name: 'ssh-replica' })]);
});

afterAll(async () => {
  await Promise.all([sshd?.stop(), db?.stop()]);
});

function config(overrides: Record<string, unknown> = {}) {
  return {
    provider: 'ssh',
    host: sshd.host,
    port: sshd.port,
    username: sshd.username,
    privateKeyPath: sshd.clientKeyPath,
    hostKeySha256: sshd.hostKeyFingerprint,
    commandTimeoutMs: 20_000,
    mysql: { host: '127.0.0.1', port: db.port, user: 'root', database: 'wikidb' },
    ...overrides,
  };
}

describe('ssh provider', () => {
  it('uploads, runs the setup and upgrade commands remotely, then reports the reachable MySQL', async () => {
    const sql = join(sshd.dir, 'upgrade.sql');
    writeFileSync(sql, 'CREATE TABLE page (id INT PRIMARY KEY, title VARCHAR(255));\nINSERT INTO page VALUES (1, \'Main_Page\');\n');
    const remoteSql = join(sshd.dir, 'remote-upgrade.sql');
    const client = `mariadb -h127.0.0.1 -P${db.port} -uroot`;
    const provider = createProvider(config({
      uploads: [{ local: sql, remote: remoteSql, mode: '0600' }],
      setupCommands: [`${client} -e 'CREATE DATABASE wikidb'`, `stat -c %a ${remoteSql}`],
      upgradeCommand: `${client} wikidb < ${remoteSql} && echo upgraded`,
    }));
    const progress: string[] = [];
    const output = { stdout: '', stderr: '' };
    const replica = await provider.provision({ onProgress: (m) => progress.push(m), onOutput: (chunk, stream) => { output[stream] += chunk; } });

    expect(replica).toMatchObject({
      dsn: `mysql://root@127.0.0.1:${db.port}/wikidb`,
      host: '127.0.0.1',
      port: db.port,
      provider: 'ssh',
      details: { ssh: `${sshd.username}@127.0.0.1:${sshd.port}`, version: expect.stringMatching(/MariaDB/) },
    });
    const steps = replica.details.steps as { command: string; seconds: number }[];
    expect(steps.map((s) => s.command)).toEqual([
      `${client} -e 'CREATE DATABASE wikidb'`, `stat -c %a ${remoteSql}`, `${client} wikidb < ${remoteSql} && echo upgraded`,
    ]);
    expect(output).toEqual({ stdout: '600\nupgraded\n', stderr: '' });
    expect(progress[0]).toBe(`${sshd.username}@127.0.0.1:${sshd.port}: uploading ${sql} to ${remoteSql}`);
    expect(progress.at(-1)).toBe(`checking mysql://root@127.0.0.1:${db.port}/wikidb`);

    const conn = await mysql.createConnection(replica.dsn);
    const [rows] = await conn.query('SELECT id, title FROM page');
    await conn.end();
    expect(rows).toEqual([{ id: 1, title: 'Main_Page' }]);
  });

  it('a failing step stops provisioning with SshCommandError naming the command, code and stderr', async () => {
    const marker = join(sshd.dir, 'must-not-run');
    const provider = createProvider(config({
      setupCommands: ['echo "disk full" >&2; exit 42'],
      upgradeCommand: `touch ${marker}`,
    }));
    const err = await provider.provision().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshCommandError);
    expect(err).toMatchObject({ code: 'SSH_COMMAND_FAILED', exitCode: 42, command: 'echo "disk full" >&2; exit 42' });
    expect((err as Error).message).toContain('exit code 42');
    expect((err as Error).message).toContain('disk full');
    expect(existsSync(marker)).toBe(false);
  });

  it('a MySQL that does not answer after the steps is REPLICA_UNREACHABLE', async () => {
    const err = await createProvider(config({ mysql: { host: '127.0.0.1', port: db.port, database: 'no_such_db' } }))
      .provision().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'REPLICA_UNREACHABLE' });
    expect((err as Error).message).toContain('ER_BAD_DB_ERROR');
  });

  it('a wrong pinned host key stops before any command runs', async () => {
    const marker = join(sshd.dir, 'pinned-not-run');
    const err = await createProvider(config({ hostKeySha256: 'SHA256:' + 'B'.repeat(43), setupCommands: [`touch ${marker}`] }))
      .provision().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SSH_HOST_KEY_MISMATCH' });
    expect(existsSync(marker)).toBe(false);
  });

  it('teardown runs teardownCommand on the host', async () => {
    const marker = join(sshd.dir, 'torn-down');
    const provider = createProvider(config({ mysql: { host: '127.0.0.1', port: db.port }, teardownCommand: `echo bye > ${marker}` }));
    const replica = await provider.provision();
    expect(existsSync(marker)).toBe(false);
    await provider.teardown(replica);
    expect(readFileSync(marker, 'utf8')).toBe('bye\n');
  });
});
