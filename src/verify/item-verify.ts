// Item-pack verification: each logical item's projection (pack.project) on the source and on the
// target, compared field by field. Items come from the source's list and, where the target can be
// listed, the target's (items that exist only there); repair converts an item again.
import { sqlIdent } from '../apply/sql-literals.js';
import { TranslateError, type LogicalItem, type Pack, type SqlRunner } from '../translate/pack.js';
import { diffValues } from './value-diff.js';
import { listTargetItems } from './target-items.js';
import type { Difference, Findings, RepairOptions, RepairResult, VerifyOptions } from './verify.js';
import { VerifyError } from './verify-error.js';

export async function verifyItems(o: VerifyOptions, found: Findings): Promise<void> {
  const pack = supported(o.pack);
  await useDatabases(o);
  const items = o.scope?.items ?? await allItems(pack, o, found);
  const unprojectable = new Map<string, number>();
  for (let i = 0; i < items.length && !found.truncated; i++) {
    const item = items[i];
    const skipped = unprojectable.get(item.type);
    if (skipped !== undefined) unprojectable.set(item.type, skipped + 1);
    else await compareItem(pack, item, o, found).catch((err: unknown) => {
      // The pack cannot project this type of item at all (it says so with a TranslateError).
      if (!(err instanceof TranslateError)) throw err;
      unprojectable.set(item.type, 1);
    });
    o.onProgress?.(i + 1, items.length);
  }
  for (const [type, n] of unprojectable) found.notes.push(`${n} ${type} item(s) not compared: the ${pack.name} pack cannot project ${type} items`);
}

type ItemPack = Pack & Required<Pick<Pack, 'project' | 'listItems'>>;

function supported(pack: Pack): ItemPack {
  if (!pack.project || !pack.listItems) {
    throw new VerifyError('VERIFY_UNSUPPORTED_PACK', `the ${pack.name} pack has no project()/listItems(), so verify cannot compare its items; add them to the pack`);
  }
  return pack as ItemPack;
}

/** Item packs read unqualified table names: the runners USE the pack's databases. */
async function useDatabases(o: { source: SqlRunner; target: SqlRunner; sourceDb?: string; targetDb?: string }): Promise<void> {
  if (o.sourceDb) await o.source.exec(`USE ${sqlIdent(o.sourceDb)}`);
  if (o.targetDb) await o.target.exec(`USE ${sqlIdent(o.targetDb)}`);
}

/** The source's items, then those only the target lists (when the target can be listed). */
async function allItems(pack: ItemPack, o: VerifyOptions, found: Findings): Promise<LogicalItem[]> {
  const items = new Map<string, LogicalItem>();
  for await (const item of pack.listItems(o.source)) items.set(itemKey(item), item);
  const onTarget = await listTargetItems(pack, o.target);
  if (onTarget === null) {
    found.notes.push(`items only on the target are not looked for: the ${pack.name} pack lists source items only`);
  } else {
    for (const item of onTarget) if (!items.has(itemKey(item))) items.set(itemKey(item), item);
  }
  return [...items.values()];
}

function itemKey(item: LogicalItem): string {
  return `${item.type}\u0000${item.key}`;
}

export function itemLabel(item: LogicalItem): string {
  return `${item.type} ${item.key}`;
}

async function compareItem(pack: ItemPack, item: LogicalItem, o: VerifyOptions, found: Findings): Promise<void> {
  const [a, b] = await Promise.all([pack.project(item, 'source', o.source), pack.project(item, 'target', o.target)]);
  found.checked.items++;
  const ref = { kind: 'item' as const, item };
  if (absent(a) && absent(b)) return;
  if (absent(b)) return found.add({ item: itemLabel(item), side: 'source-only', field: '', ref });
  if (absent(a)) return found.add({ item: itemLabel(item), side: 'target-only', field: '', ref });
  for (const d of diffValues(a, b)) found.add({ item: itemLabel(item), side: 'both', field: d.path, source: d.source, target: d.target, ref });
}

/**
 * Nothing of the item is there: no projection, or one whose every part is null or empty
 * (MediaWiki projects a title as its page and its archived revisions).
 */
function absent(v: unknown): boolean {
  if (v === null || v === undefined) return true;
  if (typeof v !== 'object' || Array.isArray(v) || Buffer.isBuffer(v)) return false;
  return Object.values(v).every((x) => absent(x) || (Array.isArray(x) && x.length === 0));
}

/** Each differing item converted again from the source, in its own target transaction. */
export async function repairItems(differences: Difference[], o: RepairOptions): Promise<RepairResult> {
  const result: RepairResult = { repaired: [], failed: [] };
  const convert = o.pack.convertItem?.bind(o.pack);
  await useDatabases(o);
  const items = new Map<string, LogicalItem>();
  for (const d of differences) {
    if (d.ref?.kind === 'item') items.set(itemKey(d.ref.item), d.ref.item);
    else result.failed.push({ item: d.item, reason: 'the difference names no logical item' });
  }
  for (const item of items.values()) {
    if (!convert) {
      result.failed.push({ item: itemLabel(item), reason: `the ${o.pack.name} pack has no convertItem()` });
      continue;
    }
    try {
      await o.target.exec('START TRANSACTION');
      await convert(item, o.source, o.target);
      await o.target.exec('COMMIT');
      result.repaired.push(itemLabel(item));
    } catch (err) {
      await o.target.exec('ROLLBACK').catch(() => {});
      result.failed.push({ item: itemLabel(item), reason: (err as Error).message });
    }
  }
  return result;
}
