// changedScope for an item pack: the pack's items of each journal entry in (from, to], temporary
// tables ignored, and everything when an entry's items are unknown.
import { afterAll, describe, expect, it } from 'vitest';
import { JournalWriter } from '../../src/journal/journal-writer.js';
import { loadPack } from '../../src/translate/registry.js';
import { changedScope } from '../../src/verify/changed-scope.js';
import { cleanup, statement, tempDir } from '../journal/helpers.js';

afterAll(cleanup);

describe('changedScope with the mediawiki-1.4-to-1.5 pack', () => {
  it('names the pages and users entries in the range wrote; a write it cannot place widens the scope to everything', async () => {
    const dir = await tempDir('scope-');
    const journal = await JournalWriter.open({ dir, fsync: 'none' });
    const pack = await loadPack('mediawiki-1.4-to-1.5');
    const write = (sql: string, kind = 'update') => journal.append({ conn: 1, statements: [statement(sql, { db: 'wiki', kind })] });
    try {
      await write("UPDATE cur SET cur_touched = '20250101000000' WHERE cur_namespace = 0 AND cur_title = 'Before'");
      const from = (await write("UPDATE cur SET cur_counter = cur_counter + 1 WHERE cur_namespace = 0 AND cur_title = 'Main_Page'")).lastSeq - 1;
      await write("UPDATE user SET user_touched = '20250101000000' WHERE user_id = 7");
      await write('CREATE TEMPORARY TABLE tmp_x (id INT)', 'ddl');
      const to = (await write("UPDATE cur SET cur_touched = '20250101000000' WHERE cur_namespace = 1 AND cur_title = 'Talk_page'")).lastSeq;
      const scope = await changedScope(dir, from, to, pack);
      expect(scope.items).toEqual([
        { type: 'page', key: '0:Main_Page' },
        { type: 'user', key: '7' },
        { type: 'page', key: '1:Talk_page' },
      ]);
      expect(await changedScope(dir, to, to, pack)).toEqual({ items: [] });
      const last = (await write('THIS IS NOT SQL THE PACK CAN READ', 'other')).lastSeq;
      expect(await changedScope(dir, to, last, pack)).toEqual({});
    } finally {
      await journal.close();
    }
  });
});
