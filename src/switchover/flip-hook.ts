import { spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import type { Logger } from '../log.js';
import { SshSession, type SshCommandError, type SshConnectOptions } from '../provision/ssh-session.js';
import { SwitchoverError } from './switchover-error.js';
import type { Flip } from './switchover-plan.js';

/** The command that points the app tier at the new version: a shell line, run locally or over ssh. */
export interface HookCommand {
  command: string;
  ssh?: SshConnectOptions;
}

const TAIL_CHARS = 2000;

/**
 * A hook flip that runs `hook.command` (sh -c locally, the remote user's shell over ssh); exit 0
 * is success. Its own small runner: migrate's runUpgradeCommand sets a target DSN and words its
 * errors for migrate. An aborted run kills the local command or closes the ssh session.
 */
export function hookFromCommand(hook: HookCommand, log: Logger): Extract<Flip, { kind: 'hook' }> {
  const where = hook.ssh ? `on ${hook.ssh.username}@${hook.ssh.host}:${hook.ssh.port ?? 22}` : 'locally';
  const describe = `${JSON.stringify(hook.command)} ${where}`;
  const output = (stream: 'stdout' | 'stderr') => (chunk: string) => {
    for (const line of chunk.split('\n')) if (line.trim() !== '') log.info({ hook: true, stream }, line);
  };
  return {
    kind: 'hook',
    describe,
    async run(signal?: AbortSignal) {
      log.info({ command: hook.command, where }, 'running the flip hook');
      if (hook.ssh) await runRemote(hook.command, hook.ssh, describe, output, signal);
      else await runLocal(hook.command, describe, output, signal);
    },
  };
}

type Output = (stream: 'stdout' | 'stderr') => (chunk: string) => void;

function runLocal(command: string, describe: string, output: Output, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], signal, killSignal: 'SIGKILL' });
    let stderr = '';
    const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
    child.stdout.on('data', (data: Buffer) => output('stdout')(decoders.stdout.write(data)));
    child.stderr.on('data', (data: Buffer) => {
      const chunk = decoders.stderr.write(data);
      stderr = (stderr + chunk).slice(-TAIL_CHARS);
      output('stderr')(chunk);
    });
    child.once('error', (err) => {
      const why = signal?.aborted ? 'was killed: it outran the flip budget' : `could not start (${err.message}; is sh installed?)`;
      reject(hookFailed(describe, why, stderr, err));
    });
    child.once('close', (code, sig) => {
      if (code === 0) resolve();
      else if (!signal?.aborted) reject(hookFailed(describe, code !== null ? `ended with exit code ${code}` : `was killed by ${sig}`, stderr));
    });
  });
}

async function runRemote(command: string, ssh: SshConnectOptions, describe: string, output: Output, signal?: AbortSignal): Promise<void> {
  const session = await SshSession.connect(ssh).catch((err: Error) => {
    throw hookFailed(describe, `could not connect (${err.message})`, '', err);
  });
  const abort = () => void session.close();
  signal?.addEventListener('abort', abort, { once: true });
  try {
    await session.exec(command, { onStdout: output('stdout'), onStderr: output('stderr') });
  } catch (err) {
    if (signal?.aborted) throw hookFailed(describe, 'was abandoned: it outran the flip budget (its ssh session was closed)', '', err);
    const e = err as SshCommandError;
    const ending = e.exitCode != null ? `ended with exit code ${e.exitCode}` : e.signal != null ? `was killed by ${e.signal}` : `failed (${e.message})`;
    throw hookFailed(describe, ending, e.stderr ?? '', err);
  } finally {
    signal?.removeEventListener('abort', abort);
    await session.close();
  }
}

function hookFailed(describe: string, why: string, stderr: string, cause?: unknown): SwitchoverError {
  const tail = stderr.trim() === '' ? '' : `; stderr ends with:\n${stderr.trimEnd().slice(-TAIL_CHARS)}\n`;
  return new SwitchoverError('SWITCHOVER_HOOK_FAILED',
    `the flip hook ${describe} ${why}${tail}; the app tier may be partly switched: check it, then run the switchover again`,
    undefined, cause === undefined ? undefined : { cause });
}
