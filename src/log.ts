import { pino, type Logger } from 'pino';

export type { Logger };

// Passwords and tokens must never reach a log line, whatever object carries them.
// pino has no any-depth wildcard: cover the depths our log objects reach (config.admin.tcp.token).
const REDACT = [
  'password', '*.password', '*.*.password', '*.*.*.password',
  'pass', '*.pass', '*.*.pass',
  'token', '*.token', '*.*.token', '*.*.*.token',
  'authData', '*.authData',
];

/**
 * JSON lines for machines; on a terminal, readable lines via pino-pretty (METAMORPH_LOG_JSON=1
 * forces JSON). Redaction happens before either.
 */
export function createLogger(opts: { level?: string; name?: string } = {}): Logger {
  const pretty = process.stdout.isTTY && !process.env.METAMORPH_LOG_JSON;
  return pino({
    name: opts.name ?? 'metamorph',
    level: opts.level ?? process.env.METAMORPH_LOG_LEVEL ?? 'info',
    redact: { paths: REDACT, censor: '[redacted]' },
    base: { pid: process.pid },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } } : {}),
  });
}

/** A logger that drops everything; for library use in tests that assert on behaviour, not logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
