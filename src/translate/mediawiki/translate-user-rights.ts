// 1.4 keeps a user's rights as one comma list (user_rights.ur_rights); 1.5 as one user_groups row
// per group. Every write of the list replaces the user's groups with the list's members.
import { TranslateError } from '../pack.js';
import { bytesValue } from './sql-render.js';
import type { TableTranslator, Translation } from './translation.js';
import { conjuncts, insertRows, intOf, literalOf, valuesListOf } from './write-values.js';
import type { Expr } from './write-model.js';

// The 1.4 schema names the columns ur_user/ur_rights; a 1.4-dev User.php wrote user_id/user_rights.
const USER_COLUMNS = ['ur_user', 'user_id'];
const RIGHTS_COLUMNS = ['ur_rights', 'user_rights'];

export const translateUserRights: TableTranslator = async (t) => {
  const m = t.write.model;
  if (m.op === 'insert') {
    for (const row of insertRows(t)) {
      const user = USER_COLUMNS.find((c) => row.has(c));
      const rights = RIGHTS_COLUMNS.find((c) => row.has(c));
      if (!user || row.size !== (rights ? 2 : 1)) throw new TranslateError(`INSERT INTO user_rights (${[...row.keys()].join(', ')}) is not translated`);
      await setGroups(t, intOf(t, row.get(user), user), rights ? (literalOf(t, row.get(rights), rights)?.bytes ?? null) : null);
    }
    return;
  }
  for (const userId of await namedUsers(t, m.where)) {
    if (m.op === 'delete') await t.target.exec(`DELETE FROM ${t.target.table('user_groups')} WHERE ug_user = ?`, [userId]);
    else await setGroups(t, userId, rightsSet(t));
  }
};

function rightsSet(t: Translation): Buffer | null {
  const m = t.write.model;
  if (m.op !== 'update' || m.set.length !== 1 || !RIGHTS_COLUMNS.includes(m.set[0].column)) {
    throw new TranslateError('an UPDATE of user_rights that does not set only the rights list is not translated');
  }
  return literalOf(t, m.set[0].value, m.set[0].column)?.bytes ?? null;
}

async function namedUsers(t: Translation, where: Expr | null): Promise<number[]> {
  const parts = conjuncts(where);
  for (const column of USER_COLUMNS) {
    const ids = valuesListOf(parts, column);
    if (ids && parts.length === 1) return ids.map((e) => intOf(t, e, column));
  }
  throw new TranslateError('a user_rights write must name its rows by user id only; not translated');
}

async function setGroups(t: Translation, userId: number, rights: Buffer | null): Promise<void> {
  await t.target.exec(`DELETE FROM ${t.target.table('user_groups')} WHERE ug_user = ?`, [userId]);
  const groups = groupsOf(rights);
  if (groups.length === 0) return;
  await t.target.exec(
    `INSERT IGNORE INTO ${t.target.table('user_groups')} (ug_user, ug_group) VALUES ${groups.map(() => '(?, ?)').join(', ')}`,
    groups.flatMap((g) => [userId, bytesValue(g)]),
  );
}

/**
 * The groups of a rights list as 1.5's updater reads it (do_user_groups_update): comma-separated,
 * PHP-trimmed, each once; an empty list has none (an empty entry in a longer list is kept, as there).
 */
function groupsOf(rights: Buffer | null): Buffer[] {
  if (rights === null || rights.length === 0) return [];
  const names = rights.toString('latin1').split(',').map((r) => r.replace(/^[ \t\n\r\0\x0B]+|[ \t\n\r\0\x0B]+$/g, ''));
  return [...new Set(names)].map((name) => Buffer.from(name, 'latin1'));
}
