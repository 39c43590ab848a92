#!/usr/bin/env node
import type { UpgradeClientVerb } from './cli/switchover-command.js';

const HELP = `metamorph: online upgrades for MySQL-backed web applications

Usage: metamorph <verb> [options]     (metamorph <verb> --help for details)

Verbs:
  proxy     run the journaling MySQL wire-protocol proxy in front of a database
  journal   dump or verify a journal directory
  replay    apply the journal to a target database through a pack (identity, ...), resumable
  migrate   copy the source to a target at a consistent cut (resumable, throttled), then replay from it
  upgrade   the whole online upgrade, resumable: provision, copy, replay, verify, switchover, rollback
  switchover, rollback, abort, finish, upgrade-status
            steer a running \`metamorph upgrade\` through its admin socket
  verify    compare the source with the target (chunk checksums / item projections), --repair
  admin     steer a running proxy: status, lock, unlock, lock-reject, connections, position
  demo      a MediaWiki 1.4 wiki upgraded online to 1.5 under traffic, with switchover, on this machine
  help      this text`;

interface Verb { run: (argv: string[]) => Promise<number>; help: string }

/** Each verb's module loads only when used: a proxy restarting after a crash must not wait for the AWS SDK. */
const VERBS: Record<string, () => Promise<Verb>> = {
  proxy: () => import('./cli/proxy-command.js').then((m) => ({ run: m.proxyCommand, help: m.PROXY_HELP })),
  journal: () => import('./cli/journal-command.js').then((m) => ({ run: m.journalCommand, help: m.JOURNAL_HELP })),
  demo: () => import('./cli/demo-command.js').then((m) => ({ run: m.demoCommand, help: m.DEMO_HELP })),
  admin: () => import('./cli/admin-command.js').then((m) => ({ run: m.adminCommand, help: m.ADMIN_HELP })),
  replay: () => import('./cli/replay-command.js').then((m) => ({ run: m.replayCommand, help: m.REPLAY_HELP })),
  migrate: () => import('./cli/migrate-command.js').then((m) => ({ run: m.migrateCommand, help: m.MIGRATE_HELP })),
  verify: () => import('./cli/verify-command.js').then((m) => ({ run: m.verifyCommand, help: m.VERIFY_HELP })),
  upgrade: () => import('./cli/upgrade-command.js').then((m) => ({ run: m.upgradeCommand, help: m.UPGRADE_HELP })),
  ...Object.fromEntries(['switchover', 'rollback', 'abort', 'finish', 'upgrade-status'].map((name) => [name,
    () => import('./cli/switchover-command.js').then((m) => ({ run: m.upgradeClientCommand(name as UpgradeClientVerb), help: m.upgradeClientHelp(name as UpgradeClientVerb) }))])),
};

async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (!verb || verb === 'help' || verb === '--help' || verb === '-h') {
    const topic = verb === 'help' && rest[0] ? VERBS[rest[0]] : undefined;
    console.log(topic ? (await topic()).help : HELP);
    return 0;
  }
  const load = VERBS[verb];
  if (!load) {
    console.error(`metamorph: unknown verb "${verb}"\n\n${HELP}`);
    return 2;
  }
  return (await load()).run(rest);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: Error & { code?: string }) => {
    console.error(`metamorph: ${e.message}`);
    process.exitCode = e.code === 'CONFIG_INVALID' || (e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? 2 : 1;
  },
);
