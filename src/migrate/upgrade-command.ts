import { spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import type { ConnectionOptions } from 'mysql2/promise';
import type { Logger } from '../log.js';
import { formatDsn } from '../provision/dsn.js';
import { SshCommandError, SshSession, type SshConnectOptions } from '../provision/ssh-session.js';
import { causeText, MigrateError } from './migrate-errors.js';

/**
 * The application's own command that creates or upgrades the target database's schema (MediaWiki's
 * update.php, say), run instead of the pack's targetSchema. It reads where to work from the
 * environment: METAMORPH_TARGET_DSN (mysql://user:pass@host:port/db) and METAMORPH_TARGET_DB.
 */
export interface UpgradeCommand {
  /** A shell command line (sh -c locally, the remote user's shell over ssh). */
  command: string;
  /** Run it on this host over ssh instead of locally; the DSN's host must then be reachable from there. */
  ssh?: SshConnectOptions;
}

const TAIL_LINES = 20;
const TAIL_CHARS = 2000;

/** Runs the upgrade command against `targetDb`; resolves on exit 0, rejects with MIGRATE_UPGRADE_FAILED otherwise. */
export async function runUpgradeCommand(upgrade: UpgradeCommand, target: ConnectionOptions, targetDb: string, log: Logger): Promise<void> {
  const env = {
    METAMORPH_TARGET_DSN: formatDsn({ user: target.user ?? 'root', password: target.password ?? '', host: target.host ?? 'localhost', port: target.port ?? 3306, database: targetDb }),
    METAMORPH_TARGET_DB: targetDb,
  };
  const where = upgrade.ssh ? `${upgrade.ssh.username}@${upgrade.ssh.host}:${upgrade.ssh.port ?? 22}` : 'locally';
  log.info({ command: upgrade.command, where, targetDb }, 'running the upgrade command to make the target schema');
  const output = (stream: 'stdout' | 'stderr') => (chunk: string) => {
    for (const line of chunk.split('\n')) if (line.trim() !== '') log.info({ stream }, line);
  };
  if (upgrade.ssh) await runRemote(upgrade.command, upgrade.ssh, env, output);
  else await runLocal(upgrade.command, env, output);
}

type Output = (stream: 'stdout' | 'stderr') => (chunk: string) => void;

function runLocal(command: string, env: Record<string, string>, output: Output): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const stderr: string[] = [];
    const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
    child.stdout.on('data', (data: Buffer) => output('stdout')(decoders.stdout.write(data)));
    child.stderr.on('data', (data: Buffer) => {
      const chunk = decoders.stderr.write(data);
      stderr.push(chunk);
      output('stderr')(chunk);
    });
    child.once('error', (err) => reject(new MigrateError('MIGRATE_UPGRADE_FAILED', `cannot start the upgrade command ${JSON.stringify(command)}: ${err.message}; is sh installed?`, { cause: err })));
    child.once('close', (code, signal) => {
      if (code === 0) return resolve();
      const ending = code !== null ? `exit code ${code}` : `signal ${signal}`;
      reject(failed(command, 'locally', ending, stderr.join('') + decoders.stderr.end()));
    });
  });
}

async function runRemote(command: string, ssh: SshConnectOptions, env: Record<string, string>, output: Output): Promise<void> {
  const session = await SshSession.connect(ssh).catch((err: unknown) => {
    throw new MigrateError('MIGRATE_UPGRADE_FAILED', `cannot run the upgrade command over ssh: ${causeText(err)}`, { cause: err });
  });
  try {
    const assignments = Object.entries(env).map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ');
    await session.exec(`${assignments} sh -c ${shellQuote(command)}`, { onStdout: output('stdout'), onStderr: output('stderr') });
  } catch (err) {
    if (!(err instanceof SshCommandError)) throw new MigrateError('MIGRATE_UPGRADE_FAILED', `the upgrade command ${JSON.stringify(command)} on ${session.target}: ${causeText(err)}`, { cause: err });
    const ending = err.exitCode !== null ? `exit code ${err.exitCode}` : err.signal !== null ? `signal ${err.signal}` : 'a lost connection';
    throw failed(command, `on ${session.target}`, ending, err.stderr, err);
  } finally {
    await session.close();
  }
}

function failed(command: string, where: string, ending: string, stderr: string, cause?: unknown): MigrateError {
  return new MigrateError('MIGRATE_UPGRADE_FAILED',
    `the upgrade command ${JSON.stringify(command)} (${where}) ended with ${ending}; stderr ends with:\n${tail(stderr)}\n` +
    'fix the command or the target and run migrate again (it makes the target database anew)', cause === undefined ? undefined : { cause });
}

function tail(text: string): string {
  const lines = text.trimEnd().split('\n').slice(-TAIL_LINES).join('\n');
  return lines.length > TAIL_CHARS ? `...${lines.slice(-TAIL_CHARS)}` : lines || '(nothing)';
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
