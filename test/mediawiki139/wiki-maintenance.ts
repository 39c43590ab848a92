import { execFile } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary } from '../harness/require-binaries.js';

/** Where Debian's `mediawiki` package puts MediaWiki 1.39. */
export const MEDIAWIKI_DIR = '/usr/share/mediawiki';
const MAINTENANCE = join(MEDIAWIKI_DIR, 'maintenance');
const SCRIPT_TIMEOUT_MS = 120_000;

export const WIKI_ADMIN = 'Admin';
export const WIKI_ADMIN_PASSWORD = 'AdminPass-12345';

export interface InstallOptions {
  /** host:port of the database server (here: the proxy). */
  dbServer: string;
  dbName: string;
  dbUser: string;
  dbPassword: string;
  /** The wiki's base URL, e.g. http://127.0.0.1:8080 (the web server is started later). */
  server: string;
  /** LocalSettings.php is written here. */
  confDir: string;
}

export interface ScriptResult { stdout: string; stderr: string; ms: number }

/** Fails loudly when the Debian package is missing: tests never skip for a missing tool. */
export function requireMediaWiki(): void {
  requireBinary('php');
  if (!existsSync(join(MAINTENANCE, 'install.php'))) {
    throw Object.assign(
      new Error(`${MAINTENANCE}/install.php not found; run \`bash scripts/install-deps.sh\` (as root) or apt-get install -y --no-install-recommends mediawiki php-cli php-mysql`),
      { code: 'MISSING_BINARIES' },
    );
  }
}

/**
 * maintenance/install.php: creates the tables and writes <confDir>/LocalSettings.php, whose path
 * it returns. Database errors and exceptions are logged to <confDir>/dberror.log and
 * exception.log (see wikiErrorLogs), and shown in full in error pages.
 */
export async function installWiki(o: InstallOptions): Promise<{ configFile: string } & ScriptResult> {
  const r = await runPhp(join(MAINTENANCE, 'install.php'), [
    '--dbtype=mysql', `--dbserver=${o.dbServer}`, `--dbname=${o.dbName}`,
    `--dbuser=${o.dbUser}`, `--dbpass=${o.dbPassword}`, `--installdbuser=${o.dbUser}`, `--installdbpass=${o.dbPassword}`,
    `--server=${o.server}`, '--scriptpath=', '--lang=en', `--pass=${WIKI_ADMIN_PASSWORD}`,
    `--confpath=${o.confDir}`, '--quiet', 'Test Wiki', WIKI_ADMIN,
  ]);
  const configFile = join(o.confDir, 'LocalSettings.php');
  appendFileSync(configFile, [
    '',
    '$wgShowExceptionDetails = true;',
    `$wgDBerrorLog = ${phpString(join(o.confDir, 'dberror.log'))};`,
    `$wgDebugLogGroups['exception'] = ${phpString(join(o.confDir, 'exception.log'))};`,
    '',
  ].join('\n'));
  return { configFile, ...r };
}

/** The tails of the wiki's database error and exception logs, for a failure message. */
export function wikiErrorLogs(confDir: string): string {
  return ['dberror.log', 'exception.log'].map((name) => {
    const path = join(confDir, name);
    return existsSync(path) ? `--- ${name}:\n${readFileSync(path, 'utf8').slice(-6000)}` : `--- ${name}: (none)`;
  }).join('\n');
}

function phpString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Runs maintenance/<script>.php against the wiki configured by `configFile`. */
export function maintenance(configFile: string, script: string, args: string[] = []): Promise<ScriptResult> {
  return runPhp(join(MAINTENANCE, `${script}.php`), ['--conf', configFile, ...args]);
}

function runPhp(file: string, args: string[]): Promise<ScriptResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    execFile(requireBinary('php'), [file, ...args], { timeout: SCRIPT_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        reject(Object.assign(new Error(`php ${file} ${args.join(' ')} failed: ${err.message}\nstdout: ${stdout.slice(-3000)}\nstderr: ${stderr.slice(-3000)}`), { code: 'MEDIAWIKI_SCRIPT_FAILED' }));
        return;
      }
      resolve({ stdout, stderr, ms: Date.now() - started });
    });
  });
}
