import { parseArgs } from 'node:util';
import { dumpJournal, verifyJournal } from '../journal/dump.js';

export const JOURNAL_HELP = `Usage:
  metamorph journal dump --dir DIR [--from SEQ] [--follow]
      One JSON object per committed statement: seq, txn, conn, db, sql (executable text,
      prepared-statement parameters inlined), affectedRows, insertId, ts (µs), kind, session, flags.
      --follow keeps printing new records as they are journaled (Ctrl-C to stop).
  metamorph journal verify --dir DIR
      Checks every record's checksum and the sequence; prints counts; exits 1 on corruption.`;

export async function journalCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      dir: { type: 'string' },
      from: { type: 'string' },
      follow: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help || !sub || sub === 'help') {
    console.log(JOURNAL_HELP);
    return sub ? 0 : 2;
  }
  if (!values.dir) {
    console.error('journal: --dir DIR is required (the proxy\'s journal.dir)');
    return 2;
  }
  if (sub === 'verify') return (await verifyJournal(values.dir, process.stdout)) ? 0 : 1;
  if (sub === 'dump') {
    // Without --from, start at the oldest record retention has kept.
    const from = values.from === undefined ? undefined : Number(values.from);
    if (from !== undefined && (!Number.isInteger(from) || from < 1)) {
      console.error(`journal dump: --from must be a sequence number >= 1, got ${values.from}`);
      return 2;
    }
    const ac = new AbortController();
    process.once('SIGINT', () => ac.abort());
    process.once('SIGTERM', () => ac.abort());
    await dumpJournal({ dir: values.dir, from, follow: values.follow ?? false, out: process.stdout, signal: ac.signal });
    return 0;
  }
  console.error(`journal: unknown subcommand "${sub}"\n${JOURNAL_HELP}`);
  return 2;
}
