// Records real client <-> server packets once, as the starting points the fuzzers mutate:
// a relay between each client (mysql2, the mariadb CLI, PHP mysqli) and a fresh local MariaDB
// splits both directions into packets and writes test/fuzz/fixtures/<client>.json.
// Run after `npm run build`: node test/fuzz/capture-fixtures.mjs
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import mysql from 'mysql2/promise';

const dist = process.env.METAMORPH_DIST ?? new URL('../../dist/', import.meta.url).pathname;
const { startLocalMariaDB } = await import(join(dist, 'provision/local-mariadb.js'));
const { PacketReader } = await import(join(dist, 'protocol/packet-reader.js'));
const OUT = new URL('./fixtures/', import.meta.url).pathname;
const USER = 'fz';
const PASSWORD = 'fzpass';

/** A relay that keeps the bytes of each connection, per direction, in arrival order. */
async function startRecorder(upstreamPort) {
  const conversations = [];
  const server = net.createServer((client) => {
    const chunks = [];
    conversations.push(chunks);
    const up = net.connect(upstreamPort, '127.0.0.1');
    client.on('data', (d) => { chunks.push({ from: 'client', data: d }); up.write(d); });
    up.on('data', (d) => { chunks.push({ from: 'server', data: d }); client.write(d); });
    client.on('close', () => up.destroy());
    up.on('close', () => client.destroy());
    client.on('error', () => up.destroy());
    up.on('error', () => client.destroy());
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    take: () => conversations.splice(0),
    close: () => new Promise((r) => server.close(r)),
  };
}

/** Packets of one connection; everything before the client's first seq-0 packet is the handshake. */
function packetsOf(chunks) {
  const readers = { client: new PacketReader(), server: new PacketReader() };
  const out = [];
  let phase = 'handshake';
  for (const { from, data } of chunks) {
    readers[from].push(data);
    for (let p = readers[from].next(); p; p = readers[from].next()) {
      if (from === 'client' && p.seq === 0) phase = 'command';
      out.push({ from, phase, seq: p.seq, hex: p.payload.toString('hex') });
    }
  }
  return out;
}

async function mysql2Session(port) {
  const c = await mysql.createConnection({ host: '127.0.0.1', port, user: USER, password: PASSWORD, database: 'fz', multipleStatements: true });
  await c.query('CREATE TABLE IF NOT EXISTS t2 (id INT PRIMARY KEY, s VARCHAR(40), d DATETIME(6), x DOUBLE, b BLOB, n BIGINT UNSIGNED)');
  await c.query("INSERT INTO t2 VALUES (1, 'one', '2024-02-29 12:34:56.789', 1.5, x'00ff', 18446744073709551615)");
  await c.execute('INSERT INTO t2 VALUES (?, ?, ?, ?, ?, ?)', [2, 'two é', new Date(Date.UTC(2001, 0, 2, 3, 4, 5, 6)), -2.25, Buffer.from([1, 2, 3]), 42n]);
  await c.execute('SELECT * FROM t2 WHERE id IN (?, ?) AND COALESCE(?, s) IS NOT NULL', [1, 2, null]);
  await c.query('SELECT 1; UPDATE t2 SET s = CONCAT(s, ?) WHERE id = 1; SELECT COUNT(*) FROM t2', ['!']);
  await c.query('BEGIN');
  await c.query("UPDATE t2 SET x = x * 2 WHERE s LIKE 'two%'");
  await c.query('COMMIT');
  await c.query('SELECT * FROM no_such_table').catch(() => undefined);
  await c.ping();
  await c.changeUser({ user: USER, password: PASSWORD, database: 'fz' });
  await c.query('SELECT @@version, DATABASE()');
  await c.end();
}

const run = (cmd, args) => promisify(execFile)(cmd, args, { timeout: 30_000 });

function cliSession(port) {
  const sql = [
    'SELECT @@version_comment, NOW(6);',
    'USE fz;',
    "INSERT INTO t2 (id, s) VALUES (10, 'from the cli') ON DUPLICATE KEY UPDATE s = VALUES(s);",
    'SELECT id, s, x FROM t2 ORDER BY id;',
    'SHOW TABLES;',
    "SELECT 'x' INTO @v; SELECT @v;",
    'DELETE FROM t2 WHERE id = 10;',
  ].join('\n');
  // Asynchronous: the relay runs in this process's event loop.
  return run('mariadb', ['--no-defaults', '--protocol=TCP', '-h127.0.0.1', `-P${port}`, `-u${USER}`, `-p${PASSWORD}`, '--table', '-e', sql]);
}

function phpSession(port) {
  const code = `
    mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
    $m = new mysqli('127.0.0.1', '${USER}', '${PASSWORD}', 'fz', ${port});
    $m->set_charset('utf8mb4');
    $m->query("INSERT INTO t2 (id, s, x) VALUES (20, 'php', 0.5)");
    $st = $m->prepare('INSERT INTO t2 (id, s, x, b) VALUES (?, ?, ?, ?)');
    $id = 21; $s = 'php prepared'; $x = 3.25; $b = null;
    $st->bind_param('isdb', $id, $s, $x, $b);
    $st->send_long_data(3, str_repeat('L', 100));
    $st->execute();
    $st->close();
    $q = $m->prepare('SELECT id, s, x, d FROM t2 WHERE id > ?');
    $min = 0; $q->bind_param('i', $min); $q->execute();
    $res = $q->get_result(); while ($res->fetch_assoc()) {}
    $q->close();
    $m->multi_query('SELECT 1; SELECT 2'); do { if ($r = $m->store_result()) $r->free(); } while ($m->more_results() && $m->next_result());
    $m->begin_transaction(); $m->query('UPDATE t2 SET x = 1 WHERE id = 20'); $m->rollback();
    $m->select_db('fz');
    $m->ping();
    $m->change_user('${USER}', '${PASSWORD}', 'fz');
    $m->query('DELETE FROM t2 WHERE id IN (20, 21)');
    $m->close();`;
  return run('php', ['-d', 'display_errors=stderr', '-r', code]);
}

const require = createRequire(import.meta.url);
const db = await startLocalMariaDB({ baseDir: '/dev/shm', name: `metamorph-capture-${process.pid}` });
const recorder = await startRecorder(db.port);
try {
  const admin = await mysql.createConnection({ host: '127.0.0.1', port: db.port, user: 'root', multipleStatements: true });
  await admin.query(`CREATE DATABASE fz; CREATE USER '${USER}'@'%' IDENTIFIED BY '${PASSWORD}'; GRANT ALL ON fz.* TO '${USER}'@'%'`);
  await admin.end();
  const version = spawnSync('mariadbd', ['--version'], { encoding: 'utf8' }).stdout.trim();
  const php = spawnSync('php', ['-r', 'echo mysqli_get_client_info();'], { encoding: 'utf8' }).stdout.trim();
  const cli = spawnSync('mariadb', ['--version'], { encoding: 'utf8' }).stdout.trim();
  const clients = [
    ['mysql2', `mysql2 ${require('mysql2/package.json').version}`, () => mysql2Session(recorder.port)],
    ['mariadb-cli', cli, () => cliSession(recorder.port)],
    ['php-mysqli', `php mysqli (${php})`, () => phpSession(recorder.port)],
  ];
  mkdirSync(OUT, { recursive: true });
  for (const [name, client, session] of clients) {
    await session();
    await new Promise((r) => setTimeout(r, 200)); // the relay sees the last bytes and the close
    const sessions = recorder.take().map(packetsOf);
    const file = join(OUT, `${name}.json`);
    writeFileSync(file, `${JSON.stringify({ client, server: version, sessions }, null, 1)}\n`);
    console.log(`${file}: ${sessions.reduce((n, s) => n + s.length, 0)} packets`);
  }
} finally {
  await recorder.close();
  await db.stop();
}
