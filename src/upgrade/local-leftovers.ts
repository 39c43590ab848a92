import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from '../log.js';
import { dataDirOf, stopProcess } from '../provision/local-mariadb.js';

const STOP_GRACE_MS = 20_000;

/**
 * A run killed between starting a local server and recording it leaves the server's directory
 * (the local provider refuses an existing one) and maybe its mariadbd (detached, it outlives
 * the run). Both are this upgrade's own, unrecorded: stop and remove them so provision can run again.
 */
export async function removeHalfMadeLocal(provision: Record<string, unknown>, log: Logger): Promise<void> {
  const dir = join(resolve(String(provision.baseDir)), typeof provision.name === 'string' ? provision.name : 'replica');
  if (!existsSync(dir)) return;
  const pids = processesOn(dataDirOf(dir));
  log.warn({ dir, pids }, 'removing the local server a killed run had started but not recorded');
  await Promise.all(pids.map((pid) => stopProcess(pid, STOP_GRACE_MS)));
  rmSync(dir, { recursive: true, force: true });
}

/** Pids of the processes (mariadbd, or mariadb-install-db's bootstrap one) on this datadir. Reads /proc: Linux. */
function processesOn(dataDir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(`--datadir=${dataDir}`)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}
