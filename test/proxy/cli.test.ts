import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { freePort } from '../harness/ports.js';
import { runCli as cli, startProxyProcess } from '../harness/proxy-process.js';

// The built command line (dist/cli.js; `npm run build` first, `npm test` does it).

let db: MariaDB;
let dir: string;

function configFile(name: string, config: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(config));
  return file;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'metamorph-cli-'));
  db = await startMariaDB({ name: 'cli' });
});

afterAll(async () => {
  await db?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('help', () => {
  it('--help lists the verbs', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const verb of ['proxy', 'journal', 'demo']) expect(r.stdout).toMatch(new RegExp(`^\\s+${verb}\\s+\\S`, 'm'));
  });

  it('proxy --help documents the options and config keys', async () => {
    const r = await cli(['proxy', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: metamorph proxy/);
    for (const text of ['--config FILE', '--listen HOST:PORT', '--upstream HOST:PORT', '--journal-dir DIR', 'journal.{dir,fsync,segmentBytes}']) {
      expect(r.stdout).toContain(text);
    }
  });

  it('an unknown verb exits 2 and says so', async () => {
    const r = await cli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown verb "frobnicate"/);
  });
});

describe('proxy --config with a bad value exits 2 naming the key', () => {
  it.each([
    ['a bad key', { listen: { prot: 3307 } }, /config: listen\.prot: unknown key/],
    ['a bad port', { listen: { port: 70000 } }, /config: listen\.port: must be an integer between 0 and 65535 \(got 70000\)/],
    ['a bad fsync value', { journal: { fsync: 'sometimes' } }, /config: journal\.fsync: must be "always".*got "sometimes"/],
  ])('%s', async (name, config, message) => {
    const r = await cli(['proxy', '--config', configFile(`${name.replace(/ /g, '-')}.json`, config)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

describe('proxy and journal verbs end to end', () => {
  it('the proxy journals through a real client; SIGTERM stops it cleanly; journal verify and dump read what it wrote', async () => {
    const journalDir = join(dir, 'journal');
    const proxy = await startProxyProcess({
      port: await freePort(), upstreamPort: db.port, journalDir, config: { journal: { fsync: 'always' }, shutdown: { drainMs: 2000 } },
    });
    let exit: number | string = 'not stopped';
    try {
      const c = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: 'root' });
      await c.query('CREATE DATABASE e2e');
      await c.query('CREATE TABLE e2e.t (id INT PRIMARY KEY)');
      await c.query('BEGIN');
      await c.query('INSERT INTO e2e.t VALUES (1)');
      await c.query('INSERT INTO e2e.t VALUES (2)');
      await c.query('COMMIT');
      await c.end();
    } finally {
      exit = await proxy.stop();
    }
    expect(exit).toBe(0);

    const verify = await cli(['journal', 'verify', '--dir', journalDir]);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/4 record\(s\), 3 transaction\(s\), seq 1\.\.4/);
    expect(verify.stdout).toMatch(/^ok: /m);

    const dump = await cli(['journal', 'dump', '--dir', journalDir]);
    expect(dump.code).toBe(0);
    const lines = dump.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.seq, l.sql, l.last])).toEqual([
      [1, 'CREATE DATABASE e2e', true],
      [2, 'CREATE TABLE e2e.t (id INT PRIMARY KEY)', true],
      [3, 'INSERT INTO e2e.t VALUES (1)', false],
      [4, 'INSERT INTO e2e.t VALUES (2)', true],
    ]);
    const from = await cli(['journal', 'dump', '--dir', journalDir, '--from', '4']);
    expect(from.stdout.trimEnd().split('\n').map((l) => JSON.parse(l).seq)).toEqual([4]);
  });
});
