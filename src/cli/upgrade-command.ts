import { parseArgs } from 'node:util';
import { createLogger } from '../log.js';
import { Upgrade } from '../upgrade/orchestrator.js';
import { loadUpgradeConfig } from '../upgrade/upgrade-config.js';
import { formatReport } from '../upgrade/upgrade-report.js';

export const UPGRADE_HELP = `Usage: metamorph upgrade --config upgrade.json [--rehearse] [--auto-switchover] [--json]

The whole online upgrade as one job: provision the new server, copy the app's MySQL accounts,
copy the data at a consistent cut, replay the journal into the new server (follow), verify both
sides again and again, wait for the operator, switch over, and (identity) keep a reverse replay
so that a rollback can flip back. State is saved in <stateDir>/state.json at every step: kill
this process at any moment and run the same command again, it carries on from there.

While it runs, its admin socket (adminSocket in the config, default <stateDir>/upgrade.sock)
takes: status, switchover, rollback, abort, finish; the same as
  metamorph switchover|rollback|abort|finish|upgrade-status --socket PATH

Phases: provision, accounts, migrate, replay, verify (until a clean pass), waiting (ready:
switchover), switchover, switched (the new server serves; rollback or finish), finished/aborted.

The config (JSON; unknown keys are errors; relative paths are from the config file's directory):
  { "pack": "identity",                                   (or mediawiki-1.4-to-1.5: needs switchover.hook)
    "source": "mysql://root:pw@db1:3306/",                the source database itself, not the proxy
    "proxy": { "adminSocket": "/run/metamorph/admin.sock", "journalDir": "/var/lib/metamorph/journal" },
    "provision": { "provider": "existing", "dsn": "mysql://root:pw@db2:3306/" },
                                                          or local / ec2 / ssh (README: provisioning)
    "stateDir": "/var/lib/metamorph/upgrade",             state.json (mode 0600: it holds DSNs)
    "adminSocket": "/run/metamorph/upgrade.sock",         optional
    "metrics": "127.0.0.1:9471",                          optional: GET /metrics (metamorph_upgrade_*)
    "accounts": ["app", "wiki@10.0.0.%"],                 the app's MySQL accounts to copy to the new server;
                                                          the proxy logs moved sessions in with them
    "migrate": { "workers": 4, "chunkRows": 10000, "lockTimeoutMs": 5000, "databases": ["app"],
                 "sourceDb": "wikidb", "targetDb": "wikidb15", "maxRowsPerSec": 0,
                 "maxThreadsRunning": 0, "maxReplayLagSeconds": 0 },
    "verify": { "intervalSeconds": 30, "repair": false, "chunkRows": 1000, "maxDifferences": 1000,
                "lockTimeoutMs": 5000 },
    "switchover": { "maxLagSeconds": 2, "flipTo": "db2:3306" (default: the new server's address),
                    "lockMs": 2000, "catchUpMs": 2000, "verifyMs": 5000, "flipMs": 5000, "totalMs": 15000,
                    "hook": { "command": "...", "ssh": { "host": "app1", "port": 22, "username": "deploy",
                              "privateKeyPath": "~/.ssh/id_ed25519", "hostKeySha256": "SHA256:..." } } } }
The proxy needs "switchover": { "credentials": { "app": "password" } } in its own config to move
open client sessions to the new server at the flip.

Options:
  --config PATH       the upgrade config
  --rehearse          run everything, then rehearse the switchover (lock, catch up, verify, unlock;
                      no flip) and report what it would have cost; the old server keeps serving
  --auto-switchover   switch over as soon as replay lag is under switchover.maxLagSeconds and a
                      verification was clean (the first time; rollback stays an operator command)
  --json              print the final report as JSON instead of text
  -h, --help          this text

Exit codes: 0 finished, aborted or rehearsed; 1 failure (or a rehearsal whose switchover aborted);
2 usage or config error;
3 stopped by SIGTERM/SIGINT (state kept: run the same command again to resume).`;

const EXIT_STOPPED = 3;

export async function upgradeCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      rehearse: { type: 'boolean', default: false },
      'auto-switchover': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(UPGRADE_HELP);
    return 0;
  }
  if (!values.config) {
    console.error('upgrade: --config is required (metamorph upgrade --help for usage)');
    return 2;
  }
  if (values.rehearse && values['auto-switchover']) {
    console.error('upgrade: --rehearse and --auto-switchover exclude each other: a rehearsal never flips');
    return 2;
  }
  const config = loadUpgradeConfig(values.config);
  const log = createLogger({ name: 'upgrade' });
  const upgrade = new Upgrade({ config, rehearse: values.rehearse, autoSwitchover: values['auto-switchover'], log });
  const onSignal = (signal: string) => {
    log.info({ signal }, 'signal received');
    upgrade.stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    const { result, report } = await upgrade.run();
    console.log(values.json ? JSON.stringify(report) : formatReport(report));
    if (result === 'stopped') return EXIT_STOPPED;
    return result === 'rehearsed' && report.switchovers.at(-1)?.ok !== true ? 1 : 0; // a rehearsal that aborted says the real one would
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e.code === 'CONFIG_INVALID') throw e;
    log.error({ code: e.code ?? null }, e.message);
    console.error(`metamorph upgrade: ${e.message}`);
    return 1;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
