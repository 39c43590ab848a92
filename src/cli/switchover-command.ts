import { parseArgs } from 'node:util';
import { adminRequest } from '../admin/admin-client.js';

export type UpgradeClientVerb = 'switchover' | 'rollback' | 'abort' | 'finish' | 'upgrade-status';

const WHAT: Record<UpgradeClientVerb, string> = {
  switchover: 'switch the proxy over to the new server (preconditions, hold, catch up, verify, flip, release)',
  rollback: 'flip the proxy back to the old server (identity; the reverse replay kept it current)',
  abort: 'end the upgrade before a switchover: replay stops, the old server keeps serving',
  finish: 'end the upgrade: replay stops, the orchestrator exits 0',
  'upgrade-status': 'show the running upgrade\'s phase and progress',
};

export function upgradeClientHelp(verb: UpgradeClientVerb): string {
  return `Usage: metamorph ${verb} --socket PATH [--timeout MS]

Asks the running \`metamorph upgrade\` to ${WHAT[verb]}, through its admin socket
(adminSocket in the upgrade config, default <stateDir>/upgrade.sock), and prints its JSON reply.

Options:
  --socket PATH   the upgrade's admin socket
  --timeout MS    how long to wait for the reply (default 300000: a switchover waits for its budgets)
  -h, --help      this text

Exit codes: 0 the reply says ok, 1 it does not (the reply says why), 2 usage.`;
}

/** One verb of the upgrade's admin socket, as a command line client. */
export function upgradeClientCommand(verb: UpgradeClientVerb): (argv: string[]) => Promise<number> {
  return async (argv) => {
    const { values } = parseArgs({
      args: argv,
      options: { socket: { type: 'string' }, timeout: { type: 'string', default: '300000' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    });
    if (values.help) {
      console.log(upgradeClientHelp(verb));
      return 0;
    }
    const timeout = Number(values.timeout);
    if (!values.socket || !Number.isInteger(timeout) || timeout < 1) {
      console.error(`${verb}: --socket PATH is required and --timeout must be an integer >= 1 (metamorph ${verb} --help)`);
      return 2;
    }
    let reply: Record<string, unknown>;
    try {
      reply = await adminRequest(values.socket, verb === 'upgrade-status' ? 'status' : verb, timeout);
    } catch (err) {
      const cause = (err as Error).message.replace(/: is the proxy running.*$/, '');
      console.error(`${verb}: ${cause}: is \`metamorph upgrade\` running, and is this its adminSocket (default <stateDir>/upgrade.sock)?`);
      return 1;
    }
    console.log(JSON.stringify(reply, null, 2));
    return reply.ok === true ? 0 : 1;
  };
}
