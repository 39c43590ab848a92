import { statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

// Debian installs the server binaries in sbin, which is not on a non-root PATH.
const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

const PACKAGE_OF: Record<string, string> = {
  mariadbd: 'mariadb-server',
  'mariadb-install-db': 'mariadb-server',
  mariadb: 'mariadb-client',
  'mariadb-admin': 'mariadb-client',
  sysbench: 'sysbench',
  php: 'php-cli php-mysql',
  openssl: 'openssl',
  ps: 'procps',
  setpriv: 'util-linux',
};

export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SBIN_DIRS];
  for (const dir of dirs) {
    const path = join(dir, name);
    if (statSync(path, { throwIfNoEntry: false })?.isFile()) return path;
  }
  return undefined;
}

// Tests never skip for a missing tool: a missing binary is a broken setup and must fail loudly.
export function requireBinaries(names: string[]): void {
  const missing = names.filter((name) => findBinary(name) === undefined);
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((name) => PACKAGE_OF[name] ?? name))].join(' ');
  throw Object.assign(
    new Error(
      `missing binaries: ${missing.join(', ')}; run \`bash scripts/install-deps.sh\` (as root) ` +
        `or apt-get install -y --no-install-recommends ${packages}`,
    ),
    { code: 'MISSING_BINARIES' },
  );
}

export function requireBinary(name: string): string {
  requireBinaries([name]);
  return findBinary(name) as string;
}
