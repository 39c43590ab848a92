import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

/** A logger whose records the test can read back (and that echoes them to stderr when `echo`). */
export function recordingLogger(name: string, echo: boolean): { log: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      const line = chunk.toString('utf8');
      for (const text of line.split('\n').filter(Boolean)) records.push(JSON.parse(text) as Record<string, unknown>);
      if (echo) process.stderr.write(line);
      done();
    },
  });
  return { log: pino({ name, level: 'info' }, sink), records };
}
