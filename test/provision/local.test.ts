import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { createProvider, type Replica } from '../../src/provision/provider.js';
import { requireBinaries } from '../harness/require-binaries.js';

requireBinaries(['mariadbd', 'mariadb-install-db']);
const baseDir = mkdtempSync(join('/dev/shm', 'metamorph-local-provider-'));
const made: Replica[] = [];

afterAll(async () => {
  const provider = createProvider({ provider: 'local', baseDir });
  for (const replica of made) await provider.teardown(replica);
  rmSync(baseDir, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function query(dsn: string, sql: string): Promise<unknown> {
  const conn = await mysql.createConnection(dsn);
  try {
    const [rows] = await conn.query(sql);
    return rows;
  } finally {
    await conn.end();
  }
}

describe('local provider', () => {
  it('starts a fresh MariaDB with a database and an app user; teardown stops it and removes its datadir', async () => {
    const provider = createProvider({
      provider: 'local', baseDir, name: 'wiki', database: 'wikidb', appUser: { user: 'wiki', password: 'w1ki:p@ss' },
    });
    const progress: string[] = [];
    const replica = await provider.provision({ onProgress: (m) => progress.push(m) });
    made.push(replica);
    const { pid, dir, rootDsn } = replica.details as { pid: number; dir: string; rootDsn: string };
    expect(replica.dsn).toBe(`mysql://wiki:w1ki%3Ap%40ss@127.0.0.1:${replica.port}/wikidb`);
    expect(rootDsn).toBe(`mysql://root@127.0.0.1:${replica.port}/wikidb`);
    expect(dir).toBe(join(baseDir, 'wiki'));
    expect(progress[1]).toBe(`MariaDB ready on 127.0.0.1:${replica.port} (pid ${pid})`);

    // The app user works in its database, and only there.
    await query(replica.dsn, 'CREATE TABLE page (id INT PRIMARY KEY)');
    await query(replica.dsn, 'INSERT INTO page VALUES (1)');
    expect(await query(replica.dsn, 'SELECT id FROM page')).toEqual([{ id: 1 }]);
    await expect(query(replica.dsn, 'CREATE DATABASE other')).rejects.toMatchObject({ code: 'ER_DBACCESS_DENIED_ERROR' });
    // Fresh: only the system schemas and ours.
    const dbs = (await query(rootDsn, 'SHOW DATABASES')) as { Database: string }[];
    expect(dbs.map((r) => r.Database).sort()).toEqual(['information_schema', 'mysql', 'performance_schema', 'sys', 'wikidb']);

    await provider.teardown(replica);
    made.pop();
    expect(alive(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    await provider.teardown(replica); // twice is fine
  });

  it('root-only replicas on free ports: two at once do not collide', async () => {
    const [a, b] = await Promise.all(['a', 'b'].map((name) => createProvider({ provider: 'local', baseDir, name }).provision()));
    made.push(a!, b!);
    expect(a!.port).not.toBe(b!.port);
    expect(a!.dsn).toBe(`mysql://root@127.0.0.1:${a!.port}/`);
    expect(await query(a!.dsn, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    expect(await query(b!.dsn, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  it('refuses to start over an existing directory', async () => {
    mkdirSync(join(baseDir, 'taken'));
    const err = await createProvider({ provider: 'local', baseDir, name: 'taken' }).provision().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'LOCAL_DIR_EXISTS' });
    expect((err as Error).message).toContain(join(baseDir, 'taken'));
  });

  it('teardown does not kill a process that is not the replica\'s server, nor remove a non-replica directory', async () => {
    const dir = join(baseDir, 'not-a-replica');
    mkdirSync(dir);
    const replica: Replica = { dsn: 'mysql://root@127.0.0.1:1/', host: '127.0.0.1', port: 1, provider: 'local', details: { pid: process.pid, dir } };
    const err = await createProvider({ provider: 'local', baseDir }).teardown(replica).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'LOCAL_BAD_REPLICA' });
    expect(existsSync(dir)).toBe(true);
    expect(alive(process.pid)).toBe(true);
  });
});
