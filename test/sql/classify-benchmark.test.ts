import { expect, it } from 'vitest';
import { classify, type StatementKind } from '../../src/sql/classify.js';

// A MediaWiki-like mix: mostly reads, then writes, transaction control and session setup.
const MIX: Array<[string, StatementKind]> = [
  ["SELECT /* MediaWiki\\Page\\PageStore::getPageByName 10.0.0.1 */ page_id,page_namespace,page_title FROM `page` WHERE page_namespace = 0 AND page_title = 'Main_Page' LIMIT 1", 'read'],
  ['SELECT /* Wikimedia\\Rdbms\\Database::ping */ 1 AS ping', 'read'],
  ["SELECT /* MessageCache::loadFromDB */ page_title,page_latest FROM `page` WHERE page_is_redirect = 0 AND page_namespace = 8 AND (page_title NOT LIKE '%/%' ESCAPE '`')", 'read'],
  ['/* User::load */ SELECT user_id,user_name FROM `user` WHERE user_id = 42 LIMIT 1', 'read'],
  ['(SELECT 1) UNION (SELECT 2)', 'read'],
  ['WITH c AS (SELECT 1) SELECT * FROM c', 'read'],
  ["INSERT /* MediaWiki\\Revision\\RevisionStore::insertRevisionRowOn */ INTO `revision` (rev_page,rev_comment_id,rev_actor,rev_timestamp) VALUES (1,2,3,'20240101000000')", 'write'],
  ["UPDATE /* WikiPage::updateRevisionOn */ `page` SET page_latest = 7,page_touched = '20240101000000' WHERE page_id = 1", 'write'],
  ['DELETE /* JobQueueDB::doAck */ FROM `job` WHERE job_cmd = \'refreshLinks\' AND job_id = 9', 'write'],
  ['REPLACE INTO objectcache (keyname,value,exptime) VALUES (\'k\',\'v\',\'20240101000000\')', 'write'],
  ['BEGIN /* Wikimedia\\Rdbms\\Database::begin */', 'begin'],
  ['COMMIT /* Wikimedia\\Rdbms\\Database::commit */', 'commit'],
  ['SAVEPOINT wikimedia_rdbms_atomic1', 'savepoint'],
  ['RELEASE SAVEPOINT wikimedia_rdbms_atomic1', 'release_savepoint'],
  ["SET /* Wikimedia\\Rdbms\\DatabaseMysqlBase::open */ group_concat_max_len = 262144, sql_mode = ''", 'set'],
  ['SHOW /* Wikimedia\\Rdbms\\DatabaseMysqlBase::getServerVersion */ VARIABLES LIKE \'version\'', 'read'],
];

it('classifies a million mixed statements quickly', () => {
  const buffers = MIX.map(([text]) => Buffer.from(text));
  const total = 1_000_000;
  const counts = new Map<StatementKind, number>();
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const kind = classify(buffers[i % buffers.length]).kind;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`classify: ${Math.round(total / seconds).toLocaleString('en-US')} statements/s (${total} in ${seconds.toFixed(2)} s)`);

  const expected = new Map<StatementKind, number>();
  MIX.forEach(([, kind], index) => {
    const occurrences = Math.floor(total / MIX.length) + (index < total % MIX.length ? 1 : 0);
    expected.set(kind, (expected.get(kind) ?? 0) + occurrences);
  });
  expect(counts).toEqual(expected);
});
