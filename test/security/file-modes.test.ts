import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { AdminConnection } from '../../src/admin/admin-client.js';
import { writeCheckpoint } from '../../src/journal/consumer-checkpoints.js';
import { StateFile, initialState } from '../../src/upgrade/upgrade-state.js';
import { APP_PASSWORD, APP_USER, startMariaDB, type MariaDB } from '../harness/mariadb.js';
import { startProxy, type ProxyFixture } from '../proxy/proxy-fixture.js';

// Everything metamorph writes holds user data or credentials: the journal (every committed
// write), consumer checkpoints, upstream.json (where a restarted proxy connects), the upgrade
// state (DSNs). It must be private to the proxy's account even under a permissive umask.
// Default-umask checks live in test/journal/round-trip.test.ts (segments, dir),
// test/proxy/flip.test.ts (upstream.json), test/admin/admin-socket.test.ts (socket) and
// test/upgrade/upgrade-parts.test.ts (state.json, upgrade socket).

let a: MariaDB;
let b: MariaDB;
let proxy: ProxyFixture;
let previousUmask = 0;

/** Every path under `dir` (itself included) with its permission bits, as 'path mode' lines. */
function modesUnder(dir: string): string[] {
  const st = lstatSync(dir);
  const own = `${dir} ${(st.mode & 0o777).toString(8)}${st.isDirectory() ? ' dir' : ''}`;
  if (!st.isDirectory()) return [own];
  return [own, ...readdirSync(dir).sort().flatMap((n) => modesUnder(join(dir, n)))];
}

beforeAll(async () => {
  [a, b] = await Promise.all([startMariaDB({ name: 'sec-modes-a' }), startMariaDB({ name: 'sec-modes-b' })]);
  await Promise.all([a, b].map((s) => s.query('CREATE DATABASE m; CREATE TABLE m.t (id INT PRIMARY KEY, secret TEXT)')));
  previousUmask = process.umask(0); // the most permissive: whatever is not asked for explicitly is world-writable
  proxy = await startProxy(a.port, { switchover: { credentials: { [APP_USER]: APP_PASSWORD } }, journal: { segmentBytes: 64 * 1024 } });
}, 120_000);

afterAll(async () => {
  process.umask(previousUmask);
  await proxy?.stop();
  await Promise.all([a?.stop(), b?.stop()]);
});

describe('under umask 000', () => {
  it('the admin socket is created 0600', () => {
    const st = lstatSync(proxy.adminSocket);
    expect(st.isSocket()).toBe(true);
    expect((st.mode & 0o777).toString(8)).toBe('600');
  });

  it('the journal dir and everything in it (segments, writer lock, consumer checkpoints, upstream.json) is 0700 / 0600', async () => {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: proxy.port, user: APP_USER, password: APP_PASSWORD, database: 'm' });
    // Enough to roll over to several 64 KiB segments.
    for (let i = 0; i < 40; i++) await c.query('INSERT INTO t VALUES (?, ?)', [i, `card-${i}-${'x'.repeat(4000)}`]);
    await c.end();
    await writeCheckpoint(proxy.journalDir, 'replayer-1', 3); // what a replayer publishes
    const admin = await AdminConnection.open(proxy.adminSocket);
    try {
      expect(await admin.request('lock 2000 lease')).toMatchObject({ ok: true });
      expect(await admin.request(`flip 127.0.0.1:${b.port} 3000`)).toMatchObject({ ok: true });
      expect(await admin.request('unlock')).toMatchObject({ ok: true });
    } finally {
      admin.close();
    }

    const lines = modesUnder(proxy.journalDir);
    const names = lines.map((l) => l.split(' ')[0].slice(proxy.journalDir.length));
    expect(names.filter((n) => n.endsWith('.seg')).length, lines.join('\n')).toBeGreaterThan(1);
    expect(names).toContain('/upstream.json');
    expect(names).toContain('/consumers/replayer-1.json');
    const wrong = lines.filter((l) => !(l.endsWith(' 700 dir') || (l.endsWith(' 600'))));
    expect(wrong, 'paths under the journal dir that others could read or write').toEqual([]);
  });

  it('the upgrade state (it holds DSNs with passwords) is 0600 in a 0700 dir', () => {
    const dir = join(proxy.journalDir, '..', 'upgrade-state');
    new StateFile(dir).save(initialState());
    expect(modesUnder(dir)).toEqual([`${dir} 700 dir`, `${join(dir, 'state.json')} 600`]);
  });
});
