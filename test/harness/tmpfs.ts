import { execFile } from 'node:child_process';
import { mkdtempSync, rmdirSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireBinary } from './require-binaries.js';

const execFileAsync = promisify(execFile);

/** A small filesystem of its own, to run out of space on purpose. */
export interface Tmpfs {
  dir: string;
  freeBytes(): number;
  unmount(): Promise<void>;
}

/** Mounts a tmpfs of `bytes` on a fresh directory; needs root (CAP_SYS_ADMIN). */
export async function mountTmpfs(bytes: number): Promise<Tmpfs> {
  const dir = mkdtempSync(join(tmpdir(), 'metamorph-tmpfs-'));
  try {
    await execFileAsync(requireBinary('mount'), ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir]);
  } catch (e) {
    rmdirSync(dir);
    throw Object.assign(new Error(`cannot mount a ${bytes}-byte tmpfs on ${dir} (tests that fill a disk need root): ${(e as Error).message}`), { code: 'MOUNT_FAILED' });
  }
  return {
    dir,
    freeBytes() {
      const s = statfsSync(dir);
      return s.bavail * s.bsize;
    },
    async unmount() {
      await execFileAsync(requireBinary('umount'), [dir]);
      rmdirSync(dir);
    },
  };
}
