import { describe, expect, it } from 'vitest';
import { TranslateError } from '../../src/translate/pack.js';
import { normaliseStatement } from '../../src/translate/mediawiki/sql-normalise.js';
import { parseWrite } from '../../src/translate/mediawiki/parse-write.js';

const sql = (s: string | Buffer) => (typeof s === 'string' ? Buffer.from(s, 'utf8') : s);

describe('normaliseStatement', () => {
  it('cuts every literal out as exact bytes and numbers the placeholders', () => {
    const n = normaliseStatement(sql("INSERT INTO cur (cur_id,cur_title,cur_text,cur_counter) VALUES (NULL,'It\\'s','a\\nb ''q''',7)"));
    expect(n.shape).toBe('INSERT INTO cur (cur_id,cur_title,cur_text,cur_counter) VALUES (NULL,:v0,:v1,:v2)');
    expect(n.literals.map((l) => [l.kind, l.bytes.toString('utf8')])).toEqual([
      ['string', "It's"],
      ['string', "a\nb 'q'"],
      ['number', '7'],
    ]);
  });

  it('keeps bytes that are not UTF-8, hex literals and charset introducers', () => {
    const raw = Buffer.concat([Buffer.from("UPDATE cur SET cur_text='"), Buffer.from([0xe9, 0xff]), Buffer.from("', cur_comment=_binary'x', cur_title=X'4142' WHERE cur_id='3'")]);
    const n = normaliseStatement(raw);
    expect(n.shape).toBe('UPDATE cur SET cur_text=:v0, cur_comment=:v1, cur_title=:v2 WHERE cur_id=:v3');
    expect(n.literals[0].bytes).toEqual(Buffer.from([0xe9, 0xff]));
    expect(n.literals[1]).toMatchObject({ kind: 'string', charset: '_binary' });
    expect(n.literals[2]).toMatchObject({ kind: 'hex', bytes: Buffer.from('AB') });
  });

  it('reads backslashes as bytes under NO_BACKSLASH_ESCAPES', () => {
    const n = normaliseStatement(sql("UPDATE t SET a='x\\n' WHERE b=1"), { noBackslashEscapes: true });
    expect(n.literals[0].bytes.toString()).toBe('x\\n');
  });

  it('strips the scheduling modifiers node-sql-parser misreads and remembers IGNORE', () => {
    expect(normaliseStatement(sql('UPDATE LOW_PRIORITY site_stats SET ss_total_views=(ss_total_views+1) WHERE ss_row_id=1')).shape).toBe(
      'UPDATE site_stats SET ss_total_views=(ss_total_views+:v0) WHERE ss_row_id=:v1',
    );
    const del = normaliseStatement(sql('DELETE LOW_PRIORITY QUICK IGNORE FROM links WHERE l_from=1'));
    expect(del).toMatchObject({ shape: 'DELETE FROM links WHERE l_from=:v0', ignore: true });
    expect(normaliseStatement(sql("INSERT DELAYED IGNORE INTO links (l_from,l_to) VALUES ('1','2')"))).toMatchObject({ ignore: true, shape: 'INSERT INTO links (l_from,l_to) VALUES (:v0,:v1)' });
    expect(normaliseStatement(sql('UPDATE IGNORE cur SET cur_counter=0')).ignore).toBe(true);
    expect(normaliseStatement(sql("INSERT INTO t (a) VALUES ('x')")).ignore).toBe(false);
  });

  it('drops comments and keeps multi-byte operators whole', () => {
    const n = normaliseStatement(sql("DELETE /* Article::doDeleteArticle 10.0.0.1 */ FROM recentchanges WHERE rc_timestamp <= '2005' AND rc_id != 3"));
    expect(n.shape).toBe('DELETE FROM recentchanges WHERE rc_timestamp <= :v0 AND rc_id != :v1');
  });

  it('joins adjacent string literals into one value', () => {
    const n = normaliseStatement(sql("UPDATE t SET a='ab' 'cd' WHERE b='e'"));
    expect(n.literals.map((l) => l.bytes.toString())).toEqual(['abcd', 'e']);
  });
});

describe('parseWrite', () => {
  it('models the shapes MediaWiki 1.4 writes', () => {
    const insert = parseWrite(sql("INSERT INTO old (old_id,old_namespace,old_title) VALUES (NULL,'0','Main_Page'),(NULL,'1','Talk')"));
    expect(insert.model).toMatchObject({ op: 'insert', replace: false, table: { name: 'old' }, columns: ['old_id', 'old_namespace', 'old_title'] });
    expect(insert.model.op === 'insert' && insert.model.rows?.length).toBe(2);

    const update = parseWrite(sql("UPDATE cur SET cur_counter = cur_counter + 1 WHERE cur_id = '5'"));
    expect(update.model).toMatchObject({
      op: 'update',
      set: [{ column: 'cur_counter', value: { t: 'op', op: '+', l: { t: 'col', name: 'cur_counter' }, r: { t: 'lit', i: 0 } } }],
      where: { t: 'op', op: '=', l: { t: 'col', name: 'cur_id' }, r: { t: 'lit', i: 1 } },
    });

    const select = parseWrite(sql("INSERT INTO archive (ar_namespace,ar_title,ar_flags) SELECT cur_namespace,cur_title,0 FROM cur WHERE cur_namespace='0' AND cur_title='X'"));
    expect(select.model).toMatchObject({ op: 'insert', rows: null, select: { from: [{ name: 'cur' }], columns: [{ t: 'col', name: 'cur_namespace' }, { t: 'col', name: 'cur_title' }, { t: 'lit' }] } });

    const del = parseWrite(sql("DELETE FROM links WHERE l_from='3' AND l_to IN ('4','5')"));
    expect(del.model).toMatchObject({ op: 'delete', table: { name: 'links' }, where: { op: 'AND', r: { t: 'in', list: [{ t: 'lit' }, { t: 'lit' }] } } });

    const replace = parseWrite(sql("REPLACE INTO watchlist (wl_user,wl_namespace,wl_title) VALUES ('1','0','Foo')"));
    expect(replace.model).toMatchObject({ op: 'insert', replace: true });
  });

  it('refuses what the model does not cover, with a TranslateError', () => {
    for (const text of [
      'CREATE TEMPORARY TABLE acchits SELECT hc_id FROM hitcounter',
      "INSERT INTO t (a) VALUES ('1') ON DUPLICATE KEY UPDATE a=a+1",
      'INSERT INTO t VALUES (1)',
      'DELETE FROM t WHERE a IN (SELECT b FROM u)',
      'DELETE FROM t WHERE a=1 LIMIT 3',
    ]) {
      expect(() => parseWrite(sql(text)), text).toThrow(TranslateError);
    }
  });

  it('parses each shape once: statements differing in values reuse the cached model', () => {
    const a = parseWrite(sql("UPDATE cur SET cur_touched='20050101000000' WHERE cur_id='1'"));
    const b = parseWrite(sql("UPDATE cur SET cur_touched='20060101000000' WHERE cur_id='2'"));
    expect(b.model).toBe(a.model);
    expect(b.literals.map((l) => l.bytes.toString())).toEqual(['20060101000000', '2']);
  });
});
