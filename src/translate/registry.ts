import { ReplayError } from '../apply/replay-errors.js';
import type { Pack } from './pack.js';

/**
 * Every pack by name, loaded on first use. Adding a pack is one line here: its module exports
 * the Pack object (see README "Writing a pack").
 */
const PACKS: Record<string, () => Promise<Pack>> = {
  identity: () => import('./identity.js').then((m) => m.identityPack),
  'mediawiki-1.4-to-1.5': () => import('./mediawiki/pack.js').then((m) => m.mediawiki14to15),
};

export function packNames(): string[] {
  return Object.keys(PACKS).sort();
}

export async function loadPack(name: string): Promise<Pack> {
  const load = Object.hasOwn(PACKS, name) ? PACKS[name] : undefined;
  if (!load) throw new ReplayError('REPLAY_UNKNOWN_PACK', `no pack named "${name}"; known packs: ${packNames().join(', ')}`);
  const pack = await load();
  if (pack.name !== name) throw new ReplayError('REPLAY_UNKNOWN_PACK', `the module registered as pack "${name}" exports a pack named "${pack.name}"; fix src/translate/registry.ts`);
  return pack;
}
