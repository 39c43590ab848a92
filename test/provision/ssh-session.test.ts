import { randomBytes, createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshCommandError, SshSession } from '../../src/provision/ssh-session.js';
import { freePort } from '../harness/ports.js';
import { startSshd, type Sshd } from '../harness/sshd.js';

let sshd: Sshd;
let session: SshSession;

beforeAll(async () => {
  sshd = await startSshd();
  session = await connect();
});

afterAll(async () => {
  await session?.close();
  await sshd?.stop();
});

function connect(overrides: Partial<Parameters<typeof SshSession.connect>[0]> = {}): Promise<SshSession> {
  return SshSession.connect({
    host: sshd.host,
    port: sshd.port,
    username: sshd.username,
    privateKey: readFileSync(sshd.clientKeyPath),
    hostKeySha256: sshd.hostKeyFingerprint,
    connectTimeoutMs: 5000,
    ...overrides,
  });
}

describe('SshSession against a real sshd', () => {
  it('runs a command as the user and returns its output and exit code', async () => {
    const result = await session.exec('id -un; echo to-stderr >&2');
    expect(result).toEqual({ code: 0, stdout: `${sshd.username}\n`, stderr: 'to-stderr\n' });
  });

  it('streams output while the command runs', async () => {
    const chunks: { stream: string; text: string; at: number }[] = [];
    const started = Date.now();
    const result = await session.exec("printf 'first\\n'; sleep 0.4; printf 'oops\\n' >&2; printf 'last\\n'", {
      onStdout: (text) => chunks.push({ stream: 'out', text, at: Date.now() - started }),
      onStderr: (text) => chunks.push({ stream: 'err', text, at: Date.now() - started }),
    });
    const finished = Date.now() - started;
    expect(result.stdout).toBe('first\nlast\n');
    expect(result.stderr).toBe('oops\n');
    expect(chunks.map((c) => c.text).join('')).toContain('first');
    // 'first' reached the callback before the command had finished sleeping.
    expect(chunks[0]).toMatchObject({ stream: 'out', text: 'first\n' });
    expect(finished - chunks[0]!.at).toBeGreaterThanOrEqual(300);
    expect(chunks.filter((c) => c.stream === 'err').map((c) => c.text).join('')).toBe('oops\n');
  });

  it('turns a non-zero exit into SshCommandError with the command, code and stderr tail', async () => {
    const command = 'echo partial; for i in $(seq 1 30); do echo "line $i" >&2; done; exit 3';
    const err = await session.exec(command).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshCommandError);
    const failure = err as SshCommandError;
    expect(failure.code).toBe('SSH_COMMAND_FAILED');
    expect(failure.exitCode).toBe(3);
    expect(failure.command).toBe(command);
    expect(failure.stdout).toBe('partial\n');
    expect(failure.stderr.split('\n')).toHaveLength(31);
    expect(failure.message).toContain('exit code 3');
    expect(failure.message).toContain(`${sshd.username}@127.0.0.1:${sshd.port}`);
    expect(failure.message).toContain('echo partial');
    expect(failure.message).toContain('line 30');
    expect(failure.message).not.toContain('line 10\n'); // only the tail
  });

  it('a command killed by a signal is an SshCommandError naming the signal', async () => {
    const err = (await session.exec('kill -TERM $$').catch((e: unknown) => e)) as SshCommandError;
    expect(err).toBeInstanceOf(SshCommandError);
    expect(err.exitCode).toBeNull();
    expect(err.signal).toBe('SIGTERM');
    expect(err.message).toContain('killed by signal SIGTERM');
  });

  it('gives up on a command after timeoutMs', async () => {
    const marker = `sleep 2${Date.now() % 1000}.5`;
    let pid = '';
    const started = Date.now();
    const err = (await session.exec(`echo $$; exec ${marker}`, { timeoutMs: 500, onStdout: (t) => { pid += t; } })
      .catch((e: unknown) => e)) as SshCommandError;
    expect(Date.now() - started).toBeLessThan(3000);
    expect(err).toBeInstanceOf(SshCommandError);
    expect(err.code).toBe('SSH_COMMAND_TIMEOUT');
    expect(err.message).toContain('within 500 ms');
    // OpenSSH ignores signal requests for root logins: clean up the sleep by its pid.
    const remotePid = Number(pid.trim());
    expect(remotePid).toBeGreaterThan(1);
    await session.exec(`kill ${remotePid} 2>/dev/null || true`);
  });

  it('a connection lost mid-command rejects with SshCommandError instead of hanging', async () => {
    const doomed = await connect();
    let printed = '';
    const pending = doomed.exec('echo $PPID $$; exec sleep 5', { onStdout: (t) => { printed += t; } }).catch((e: unknown) => e);
    while (!printed.includes('\n')) await new Promise((resolve) => setTimeout(resolve, 10));
    // $PPID is the sshd process serving this connection: killing it drops the connection.
    const [sessionPid, sleepPid] = printed.trim().split(' ').map(Number);
    process.kill(sessionPid!, 'SIGKILL');
    const err = (await pending) as SshCommandError;
    process.kill(sleepPid!, 'SIGKILL');
    expect(err).toBeInstanceOf(SshCommandError);
    expect(err.exitCode).toBeNull();
    expect(err.message).toContain('lost its connection before reporting an exit status');
    await doomed.close();
  });

  it('uploads a buffer with a mode, and a local file byte for byte', async () => {
    const remoteText = join(sshd.dir, 'uploaded.txt');
    await session.upload(Buffer.from('héllo\n'), remoteText, 0o640);
    const text = await session.exec(`stat -c %a ${remoteText}; cat ${remoteText}`);
    expect(text.stdout).toBe('640\nhéllo\n');

    const local = join(sshd.dir, 'local.bin');
    const bytes = randomBytes(300_000);
    writeFileSync(local, bytes);
    const remoteBin = join(sshd.dir, 'remote.bin');
    await session.upload(local, remoteBin, 0o755);
    const check = await session.exec(`stat -c %a ${remoteBin}; sha256sum ${remoteBin}`);
    expect(check.stdout).toBe(`755\n${createHash('sha256').update(bytes).digest('hex')}  ${remoteBin}\n`);
  });

  it('an upload into a missing directory names the remote path', async () => {
    const err = await session.upload(Buffer.from('x'), '/nonexistent-dir/x.txt').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SSH_UPLOAD_FAILED' });
    expect((err as Error).message).toContain(':/nonexistent-dir/x.txt');
    expect((err as Error).message).toMatch(/No such file/i);
  });
});

describe('SshSession connection failures', () => {
  it('a closed port is SSH_CONNECT_FAILED naming the target', async () => {
    const port = await freePort();
    const err = await connect({ port }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SSH_CONNECT_FAILED' });
    expect((err as Error).message).toContain(`127.0.0.1:${port}`);
    expect((err as Error).message).toContain('ECONNREFUSED');
  });

  it('a key that is not authorized is SSH_AUTH_FAILED', async () => {
    const err = await connect({ privateKey: readFileSync(sshd.strangerKeyPath) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SSH_AUTH_FAILED' });
    expect((err as Error).message).toContain('authorized_keys');
  });

  it('text that is not a key is SSH_BAD_KEY', async () => {
    const err = await connect({ privateKey: 'not a key' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SSH_BAD_KEY' });
  });

  it('a host key other than the pinned one is SSH_HOST_KEY_MISMATCH', async () => {
    const pinned = 'SHA256:' + 'A'.repeat(43);
    const err = await connect({ hostKeySha256: pinned }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SSH_HOST_KEY_MISMATCH' });
    expect((err as Error).message).toContain(sshd.hostKeyFingerprint);
    expect((err as Error).message).toContain(pinned);
  });

  it('without pinning any host key is accepted, and close() ends the session', async () => {
    const other = await connect({ hostKeySha256: undefined });
    expect((await other.exec('echo ok')).stdout).toBe('ok\n');
    await other.close();
    await other.close();
    await expect(other.exec('echo again')).rejects.toMatchObject({ code: 'SSH_EXEC_FAILED', message: expect.stringContaining('closed') });
  });
});
