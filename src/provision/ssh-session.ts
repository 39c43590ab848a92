import { createHash } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import ssh2, { type Client, type ClientChannel, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import { ProvisionError } from './provision-error.js';

export interface SshConnectOptions {
  host: string;
  port?: number;
  username: string;
  /** An OpenSSH/PEM private key (its text, not its path). */
  privateKey?: string | Buffer;
  passphrase?: string;
  password?: string;
  /** Pins the host key: the fingerprint `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` prints ("SHA256:..."). */
  hostKeySha256?: string;
  /** For the TCP connect and the SSH handshake together. */
  connectTimeoutMs?: number;
}

export interface ExecOptions {
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /** Give up waiting after this; see SshSession.exec for what happens to the remote process. */
  timeoutMs?: number;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

const DEFAULT_PORT = 22;
const DEFAULT_CONNECT_TIMEOUT_MS = 20_000;
const TAIL_LINES = 20;
const TAIL_CHARS = 2000;
const COMMAND_CHARS = 200;

/** A remote command that failed: it exited non-zero, died by a signal, lost its connection or timed out. */
export class SshCommandError extends ProvisionError {
  readonly command: string;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;

  constructor(code: 'SSH_COMMAND_FAILED' | 'SSH_COMMAND_TIMEOUT', target: string, outcome: CommandOutcome, why: string) {
    const output = outcome.stderr.trim() !== '' ? ['stderr', outcome.stderr] : ['stdout', outcome.stdout];
    super(code, `${target}: command ${JSON.stringify(shorten(outcome.command))} ${why}; ${output[0]} ends with:\n${tail(output[1]!)}`);
    this.name = 'SshCommandError';
    this.command = outcome.command;
    this.exitCode = outcome.exitCode;
    this.signal = outcome.signal;
    this.stdout = outcome.stdout;
    this.stderr = outcome.stderr;
  }
}

interface CommandOutcome {
  command: string;
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** One SSH connection: run commands, upload files over SFTP. */
export class SshSession {
  private closed = false;
  private sftpSession: Promise<SFTPWrapper> | undefined;

  private constructor(
    private readonly client: Client,
    /** user@host:port, for messages. */
    readonly target: string,
  ) {
    // Errors after the handshake surface through the command or upload that was running.
    client.on('error', () => {});
    client.on('close', () => {
      this.closed = true;
    });
  }

  static connect(opts: SshConnectOptions): Promise<SshSession> {
    const port = opts.port ?? DEFAULT_PORT;
    const target = `${opts.username}@${opts.host}:${port}`;
    if (opts.privateKey === undefined && opts.password === undefined) {
      return Promise.reject(new ProvisionError('SSH_NO_CREDENTIALS', `${target}: give a private key or a password`));
    }
    const timeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const client = new ssh2.Client();
      let presentedKey: string | null = null;
      const config: ConnectConfig = {
        host: opts.host,
        port,
        username: opts.username,
        privateKey: opts.privateKey,
        passphrase: opts.passphrase,
        password: opts.password,
        readyTimeout: timeoutMs,
        hostVerifier: (key: Buffer) => {
          presentedKey = fingerprint(key);
          return opts.hostKeySha256 === undefined || presentedKey === normalizeFingerprint(opts.hostKeySha256);
        },
      };
      const onClose = () => fail(new Error('the connection closed during the handshake'));
      const stopListening = () => {
        client.removeListener('error', fail);
        client.removeListener('close', onClose);
      };
      function fail(err: Error & { level?: string }): void {
        stopListening();
        client.on('error', () => {}); // the end() below may still report the socket's error
        client.end();
        reject(connectError(err, target, opts, presentedKey, timeoutMs));
      }
      client.once('ready', () => {
        stopListening();
        resolve(new SshSession(client, target));
      });
      client.on('error', fail);
      client.once('close', onClose);
      try {
        client.connect(config);
      } catch (err) {
        // ssh2 throws here for a key it cannot parse.
        reject(new ProvisionError('SSH_BAD_KEY', `${target}: the private key is unusable: ${(err as Error).message}; give an OpenSSH or PEM private key (and its passphrase)`));
      }
    });
  }

  /**
   * Runs `command` through the remote user's shell. Resolves on exit code 0; any other ending
   * rejects with SshCommandError. On timeout the remote process is sent SIGKILL, but OpenSSH
   * ignores signal requests for root logins (no privilege separation), so it may keep running.
   */
  exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const cannotStart = (why: string) =>
      new ProvisionError('SSH_EXEC_FAILED', `${this.target}: cannot start ${JSON.stringify(shorten(command))}: ${why}; connect a new session`);
    if (this.closed) return Promise.reject(cannotStart('the session is closed'));
    return new Promise((resolve, reject) => {
      try {
        this.client.exec(command, (err, stream) => {
          if (err) reject(cannotStart(err.message));
          else this.follow(command, stream, opts, resolve, reject);
        });
      } catch (err) {
        // ssh2 throws when the connection dropped since our last look.
        reject(cannotStart((err as Error).message));
      }
    });
  }

  private follow(command: string, stream: ClientChannel, opts: ExecOptions,
    resolve: (r: ExecResult) => void, reject: (e: Error) => void): void {
    const stdout = collect(opts.onStdout);
    const stderr = collect(opts.onStderr);
    stream.on('data', stdout.add);
    stream.stderr.on('data', stderr.add);
    let exitCode: number | null = null;
    let signal: string | null = null;
    stream.on('exit', (code: number | null, signalName?: string) => {
      exitCode = code;
      signal = signalName ?? null;
    });
    const outcome = (): CommandOutcome => ({ command, exitCode, signal, stdout: stdout.text(), stderr: stderr.text() });
    let settled = false;
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => {
      settled = true;
      stream.signal('KILL');
      stream.close();
      reject(new SshCommandError('SSH_COMMAND_TIMEOUT', this.target, outcome(),
        `did not finish within ${opts.timeoutMs} ms (sent SIGKILL; OpenSSH ignores it for root logins, so it may still run there)`));
    }, opts.timeoutMs);
    stream.on('close', () => {
      clearTimeout(timer);
      if (settled) return;
      const result = outcome();
      if (result.exitCode === 0) {
        resolve({ code: 0, stdout: result.stdout, stderr: result.stderr });
      } else {
        reject(new SshCommandError('SSH_COMMAND_FAILED', this.target, result, endingOf(result)));
      }
    });
  }

  /** Writes a local file (by path) or a buffer to `remotePath` over SFTP; `mode` e.g. 0o755. */
  async upload(source: string | Buffer, remotePath: string, mode?: number): Promise<void> {
    const what = typeof source === 'string' ? source : `${source.length} bytes`;
    try {
      const sftp = await this.sftp();
      await new Promise<void>((resolve, reject) => {
        const done = (err?: Error | null) => (err ? reject(err) : resolve());
        if (typeof source === 'string') sftp.fastPut(source, remotePath, done);
        else sftp.writeFile(remotePath, source, done);
      });
      if (mode !== undefined) {
        await new Promise<void>((resolve, reject) => sftp.chmod(remotePath, mode, (err) => (err ? reject(err) : resolve())));
      }
    } catch (err) {
      throw new ProvisionError('SSH_UPLOAD_FAILED', `upload of ${what} to ${this.target}:${remotePath} failed: ${(err as Error).message}; check that the local file exists and the remote directory exists and is writable`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const closed = new Promise<void>((resolve) => this.client.once('close', () => resolve()));
    this.client.end();
    await closed;
  }

  private sftp(): Promise<SFTPWrapper> {
    this.sftpSession ??= new Promise((resolve, reject) => {
      this.client.sftp((err, sftp) => (err ? reject(new Error(`cannot open an SFTP session (${err.message}): does sshd have an sftp Subsystem?`)) : resolve(sftp)));
    });
    return this.sftpSession;
  }
}

function connectError(err: Error & { level?: string }, target: string, opts: SshConnectOptions,
  presentedKey: string | null, timeoutMs: number): ProvisionError {
  if (opts.hostKeySha256 !== undefined && presentedKey !== null && presentedKey !== normalizeFingerprint(opts.hostKeySha256)) {
    return new ProvisionError('SSH_HOST_KEY_MISMATCH', `${target} presented host key SHA256:${presentedKey}, not the pinned ${opts.hostKeySha256}: the host was reinstalled or this is not the host you meant; compare with \`ssh-keygen -lf\` of its host key and fix hostKeySha256`);
  }
  if (err.level === 'client-authentication') {
    const method = opts.privateKey !== undefined ? 'private key' : 'password';
    return new ProvisionError('SSH_AUTH_FAILED', `${target} refused the ${method} (${err.message}): add the public key to ~${opts.username}/.ssh/authorized_keys there, or check the user name and password`);
  }
  if (err.level === 'client-timeout') {
    return new ProvisionError('SSH_CONNECT_TIMEOUT', `${target}: no SSH handshake within ${timeoutMs} ms: check the host is up and a firewall lets port ${opts.port ?? DEFAULT_PORT} through`);
  }
  return new ProvisionError('SSH_CONNECT_FAILED', `cannot connect to ${target}: ${err.message}; is sshd running there, and is the port right?`);
}

/** OpenSSH's fingerprint form: base64 of the key's SHA-256, without padding. */
function fingerprint(key: Buffer): string {
  return createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
}

function normalizeFingerprint(text: string): string {
  return text.replace(/^SHA256:/, '').replace(/=+$/, '');
}

function collect(onChunk: ((chunk: string) => void) | undefined) {
  const decoder = new StringDecoder('utf8');
  const parts: string[] = [];
  return {
    add: (data: Buffer) => {
      const chunk = decoder.write(data);
      if (chunk === '') return;
      parts.push(chunk);
      onChunk?.(chunk);
    },
    text: () => parts.join('') + decoder.end(),
  };
}

function endingOf(outcome: CommandOutcome): string {
  if (outcome.exitCode !== null) return `failed with exit code ${outcome.exitCode}`;
  if (outcome.signal !== null) return `was killed by signal ${outcome.signal}`;
  return 'lost its connection before reporting an exit status';
}

function tail(text: string): string {
  const lines = text.trimEnd().split('\n').slice(-TAIL_LINES).join('\n');
  return lines.length > TAIL_CHARS ? `...${lines.slice(-TAIL_CHARS)}` : lines || '(nothing)';
}

function shorten(command: string): string {
  return command.length > COMMAND_CHARS ? `${command.slice(0, COMMAND_CHARS)}...` : command;
}
