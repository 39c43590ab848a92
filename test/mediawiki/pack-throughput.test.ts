// Translation cost without the database: a realistic 1.4 write mix through the pack against a
// runner that answers at once. The test checks the mix translates; the rate it prints is the
// benchmark (bench/mediawiki-translate.mjs runs this file; target >= 5k journal records/s).
import { expect, it } from 'vitest';
import { mediawiki14to15 } from '../../src/translate/mediawiki/pack.js';
import type { JournalEntry } from '../../src/journal/record.js';
import { RecordingRunner, entry } from './recording-runner.js';
import { insertCur, insertOld, insertRecentChange, patchRecentChanges, q, updateCur } from './wiki14-statements.js';

const TEXT = 'Lorem ipsum [[dolor]] sit amet, {{consectetur}} adipiscing elit. '.repeat(30);

/** One edit of page `i` as 1.4 journals it, plus a page view and a watch. */
function editEntries(i: number): JournalEntry[] {
  const title = `Page_${i}`;
  const ts = `2005${String(1_000_000_000 + i).slice(-10)}`;
  const previous = `2004${String(1_000_000_000 + i).slice(-10)}`;
  const revision = { text: `${TEXT} edit ${i}`, ts, comment: `edit ${i}`, userText: 'Bob', user: 2 };
  const statements: Array<[string, Partial<JournalEntry>]> = [
    [updateCur(i, previous, revision), {}],
    [insertOld(0, title, { ...revision, ts: previous }), { insertId: String(i) }],
    [insertRecentChange({ ts, ns: 0, title, type: 0, curId: i, lastOld: i }), { insertId: String(i) }],
    ...patchRecentChanges(0, title, previous, i, i, ts).map((s): [string, Partial<JournalEntry>] => [s, {}]),
    [`INSERT IGNORE INTO links (l_from,l_to) VALUES (${q(i)},'1'),(${q(i)},'2')`, { affectedRows: 2 }],
    [`DELETE FROM brokenlinks WHERE bl_from=${q(i)} AND bl_to IN ('Dolor','Sit')`, { affectedRows: 2 }],
    ['UPDATE LOW_PRIORITY site_stats SET ss_total_views=(ss_total_views),ss_total_edits=(ss_total_edits+1),ss_good_articles=(ss_good_articles) WHERE ss_row_id=1', {}],
    [`UPDATE cur SET cur_counter = cur_counter + 1 WHERE cur_id = ${q(i)}`, {}],
    [`REPLACE INTO watchlist (wl_user,wl_namespace,wl_title) VALUES ('2','0',${q(title)})`, {}],
  ];
  if (i % 10 === 0) statements.unshift([insertCur(0, `New_${i}`, revision), { insertId: String(100_000 + i) }]);
  return statements.map(([sql, over]) => entry(sql, over));
}

it('translates a realistic 1.4 write mix (and prints the rate)', async () => {
  const runner = new RecordingRunner([
    [/^SELECT page_id, page_latest FROM .* WHERE page_id = \?/, [{ page_id: 1, page_latest: 10 }]],
    [/^SELECT page_id, page_latest FROM .* WHERE page_namespace = \?/, [{ page_id: 1, page_latest: 10 }]],
    [/^SELECT u.rev_id FROM/, [{ rev_id: 9 }]],
    [/^SELECT old_id, rev_id FROM/, (params) => params.map((id) => ({ old_id: id, rev_id: 9 }))],
    [/^SELECT page_id, page_latest FROM .* WHERE page_id IN/, [{ page_id: 1, page_latest: 10 }]],
    [/^SELECT bl_from AS f/, [{ f: 1, ns: 0, title: 'Dolor' }, { f: 1, ns: 0, title: 'Sit' }]],
  ]);
  const entries = Array.from({ length: 2500 }, (_, i) => editEntries(i + 1)).flat();
  const ctx = { target: runner, targetDb: 'wiki15' };
  for (const e of entries.slice(0, 200)) await mediawiki14to15.apply(e, ctx); // warm the shape cache and the JIT
  const started = performance.now();
  for (const e of entries) await mediawiki14to15.apply(e, ctx);
  const seconds = (performance.now() - started) / 1000;
  const rate = entries.length / seconds;
  console.log(`mediawiki-1.4-to-1.5: ${Math.round(rate).toLocaleString('en-US')} journal records/s translated (${entries.length} in ${seconds.toFixed(2)} s, ${runner.calls.length} target statements)`);
  // Every entry became target work: 2500 edits' worth of writes, none dropped on the way.
  expect(runner.calls.filter((c) => !/^\s*SELECT/i.test(c.sql)).length).toBeGreaterThanOrEqual(entries.length);
});
