import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import { findBinary } from './require-binaries.js';

/** A throwaway OpenSSH server on 127.0.0.1 that lets the current user (root in CI) in with a key. */
export interface Sshd {
  host: string;
  port: number;
  pid: number;
  dir: string;
  username: string;
  /** Private key whose public half is in authorized_keys. */
  clientKeyPath: string;
  /** A valid private key that is NOT authorized. */
  strangerKeyPath: string;
  /** "SHA256:..." of the host key, as `ssh-keygen -lf` prints it. */
  hostKeyFingerprint: string;
  log(): string;
  /** SIGTERM, wait until gone, delete the directory. */
  stop(): Promise<void>;
}

const execFileAsync = promisify(execFile);
const READY_TIMEOUT_MS = 10_000;
const POLL_MS = 20;
const PORT_ATTEMPTS = 5;
const INSTALL_HINT = 'run `bash scripts/install-deps.sh` (as root) or apt-get install -y --no-install-recommends openssh-server openssh-client';

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

export async function startSshd(): Promise<Sshd> {
  const sshd = findBinary('sshd');
  const keygen = findBinary('ssh-keygen');
  const setpriv = findBinary('setpriv');
  if (!sshd || !keygen || !setpriv) {
    const missing = [!sshd && 'sshd', !keygen && 'ssh-keygen', !setpriv && 'setpriv'].filter(Boolean).join(', ');
    throw Object.assign(new Error(`missing binaries: ${missing}; ${INSTALL_HINT} (setpriv: util-linux)`), { code: 'MISSING_BINARIES' });
  }
  installExitHook();
  // sshd's privilege separation directory; Debian creates it only when the service starts.
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(join(tmpdir(), 'metamorph-sshd-'));
  try {
    await Promise.all(['hostkey', 'clientkey', 'strangerkey'].map((name) =>
      execFileAsync(keygen, ['-q', '-t', 'ed25519', '-N', '', '-C', `metamorph-test-${name}`, '-f', join(dir, name)])));
    copyFileSync(join(dir, 'clientkey.pub'), join(dir, 'authorized_keys'));
    const { stdout } = await execFileAsync(keygen, ['-lf', join(dir, 'hostkey.pub')]);
    const hostKeyFingerprint = stdout.split(' ')[1]!;
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const started = await launch(sshd, setpriv, dir, port);
      if (started !== 'port-taken') return server(dir, port, started, hostKeyFingerprint);
      if (attempt === PORT_ATTEMPTS) throw new Error(`sshd: every port was taken in ${PORT_ATTEMPTS} attempts`);
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

function server(dir: string, port: number, child: ChildProcess, hostKeyFingerprint: string): Sshd {
  return {
    host: '127.0.0.1',
    port,
    pid: child.pid!,
    dir,
    username: userInfo().username,
    clientKeyPath: join(dir, 'clientkey'),
    strangerKeyPath: join(dir, 'strangerkey'),
    hostKeyFingerprint,
    log: () => readFileSync(join(dir, 'sshd.log'), 'utf8'),
    async stop() {
      await terminate(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function config(dir: string, port: number, penalties: boolean): string {
  return [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(dir, 'hostkey')}`,
    'PidFile none',
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    // The keys live under the world-writable temp dir.
    'StrictModes no',
    'Subsystem sftp internal-sftp',
    // OpenSSH >= 9.8 would slow down 127.0.0.1 after the tests' deliberate login failures.
    ...(penalties ? ['PerSourcePenalties no'] : []),
  ].join('\n') + '\n';
}

async function launch(sshd: string, setpriv: string, dir: string, port: number): Promise<ChildProcess | 'port-taken'> {
  const configPath = join(dir, 'sshd_config');
  writeFileSync(configPath, config(dir, port, true));
  try {
    await execFileAsync(sshd, ['-t', '-f', configPath]);
  } catch (err) {
    if (!String((err as { stderr?: string }).stderr).includes('PerSourcePenalties')) throw sshdError('rejected its config', String((err as { stderr?: string }).stderr));
    writeFileSync(configPath, config(dir, port, false));
  }
  const logPath = join(dir, 'sshd.log');
  const log = openSync(logPath, 'w');
  // setpriv --pdeathsig: sshd dies with this process even when it is SIGKILLed.
  const child = spawn(setpriv, ['--pdeathsig', 'KILL', sshd, '-D', '-e', '-f', configPath], { stdio: ['ignore', 'ignore', log] });
  closeSync(log);
  running.add(child);
  let exited = false;
  child.once('exit', () => {
    exited = true;
    running.delete(child);
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const text = readFileSync(logPath, 'utf8');
    if (text.includes(`Server listening on 127.0.0.1 port ${port}`)) return child;
    if (exited) {
      if (/Address already in use/.test(text)) return 'port-taken';
      throw sshdError('exited during startup', text);
    }
    if (Date.now() > deadline) {
      await terminate(child);
      throw sshdError(`was not listening after ${READY_TIMEOUT_MS} ms`, text);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}

function sshdError(what: string, log: string): Error {
  return Object.assign(new Error(`sshd ${what}:\n${log.trim().split('\n').slice(-20).join('\n')}`), { code: 'SSHD_START_FAILED' });
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}
