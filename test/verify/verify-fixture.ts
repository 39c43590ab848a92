import { TargetSession } from '../../src/apply/target-session.js';
import type { MariaDB } from '../harness/mariadb.js';

export function root(server: MariaDB, database?: string): { host: string; port: number; user: string; password: string; database?: string } {
  return { host: '127.0.0.1', port: server.port, user: 'root', password: '', ...(database ? { database } : {}) };
}

export function url(server: MariaDB, database = ''): string {
  return `mysql://root@127.0.0.1:${server.port}/${database}`;
}

/** A REPEATABLE READ session in a consistent snapshot taken now. */
export async function snapshot(server: MariaDB, database?: string): Promise<TargetSession> {
  const s = await TargetSession.open(root(server, database));
  await s.exec('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
  await s.exec('START TRANSACTION WITH CONSISTENT SNAPSHOT');
  return s;
}

/**
 * Tables of every kind verify meets: a single-column key over several chunks with NULLs, binary
 * bytes and timestamps; a composite key; no key; a second database.
 */
export const SHOP_SQL = [
  'CREATE DATABASE shop',
  'CREATE DATABASE db2',
  `CREATE TABLE shop.t1 (id INT PRIMARY KEY, name VARCHAR(50) NULL, note TEXT NULL, price DECIMAL(10,2) NOT NULL,
     b VARBINARY(20) NULL, ts TIMESTAMP NULL DEFAULT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  `INSERT INTO shop.t1 SELECT seq, CONCAT('name', seq), IF(seq % 7 = 0, NULL, CONCAT('note ', seq, ' é')), seq / 4,
     IF(seq % 5 = 0, NULL, UNHEX(CONCAT('00FF', HEX(seq)))), FROM_UNIXTIME(1700000000 + seq) FROM shop.seq_1_to_2500`,
  'CREATE TABLE shop.t2 (a INT, b VARCHAR(20), v INT, PRIMARY KEY (a, b)) ENGINE=InnoDB',
  "INSERT INTO shop.t2 SELECT seq % 10, CONCAT('k', seq), seq FROM shop.seq_1_to_300",
  'CREATE TABLE shop.t3 (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10)) ENGINE=InnoDB',
  "INSERT INTO shop.t3 (v) SELECT CONCAT('v', seq) FROM shop.seq_1_to_50",
  'CREATE TABLE shop.nopk (x INT, y VARCHAR(10)) ENGINE=InnoDB',
  "INSERT INTO shop.nopk SELECT seq, CONCAT('y', seq) FROM shop.seq_1_to_40",
  'CREATE TABLE db2.other (id INT PRIMARY KEY, v INT) ENGINE=InnoDB',
  'INSERT INTO db2.other SELECT seq, seq * 2 FROM db2.seq_1_to_20',
];

export async function createShop(server: MariaDB): Promise<void> {
  await server.query('DROP DATABASE IF EXISTS shop; DROP DATABASE IF EXISTS db2');
  for (const sql of SHOP_SQL) await server.query(sql);
}
