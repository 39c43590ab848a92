import { abbreviate } from './row-sql.js';

export interface ValueDifference {
  /** e.g. `page.revisions[2].text`; '' for the value itself. */
  path: string;
  source: unknown;
  target: unknown;
}

/**
 * Where two projections differ, by path. Lists of equal length are compared entry by entry; a
 * list whose length differs is one difference (its lengths), since its entries no longer pair up.
 * Values are shortened for reports.
 */
export function diffValues(a: unknown, b: unknown, path = '', out: ValueDifference[] = []): ValueDifference[] {
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) out.push({ path, source: `${a.length} entries`, target: `${b.length} entries` });
    else a.forEach((x, i) => diffValues(x, b[i], `${path}[${i}]`, out));
  } else if (isRecord(a) && isRecord(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) diffValues(a[k], b[k], path ? `${path}.${k}` : k, out);
  } else if (!Object.is(a, b) && !(Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b))) {
    out.push({ path, source: shown(a), target: shown(b) });
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

function shown(v: unknown): unknown {
  if (typeof v === 'string') return abbreviate(v);
  if (v === undefined || v === null || typeof v !== 'object') return v ?? null;
  return abbreviate(Buffer.isBuffer(v) ? `0x${v.toString('hex')}` : JSON.stringify(v));
}
