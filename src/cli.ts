#!/usr/bin/env node
import { proxyCommand, PROXY_HELP } from './cli/proxy-command.js';
import { journalCommand, JOURNAL_HELP } from './cli/journal-command.js';
import { demoCommand, DEMO_HELP } from './cli/demo-command.js';
import { adminCommand, ADMIN_HELP } from './cli/admin-command.js';
import { replayCommand, REPLAY_HELP } from './cli/replay-command.js';
import { migrateCommand, MIGRATE_HELP } from './cli/migrate-command.js';
import { verifyCommand, VERIFY_HELP } from './cli/verify-command.js';
import { upgradeCommand, UPGRADE_HELP } from './cli/upgrade-command.js';
import { upgradeClientCommand, upgradeClientHelp } from './cli/switchover-command.js';

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

const VERBS: Record<string, { run: (argv: string[]) => Promise<number>; help: string }> = {
  proxy: { run: proxyCommand, help: PROXY_HELP },
  journal: { run: journalCommand, help: JOURNAL_HELP },
  demo: { run: demoCommand, help: DEMO_HELP },
  admin: { run: adminCommand, help: ADMIN_HELP },
  replay: { run: replayCommand, help: REPLAY_HELP },
  migrate: { run: migrateCommand, help: MIGRATE_HELP },
  verify: { run: verifyCommand, help: VERIFY_HELP },
  upgrade: { run: upgradeCommand, help: UPGRADE_HELP },
  switchover: { run: upgradeClientCommand('switchover'), help: upgradeClientHelp('switchover') },
  rollback: { run: upgradeClientCommand('rollback'), help: upgradeClientHelp('rollback') },
  abort: { run: upgradeClientCommand('abort'), help: upgradeClientHelp('abort') },
  finish: { run: upgradeClientCommand('finish'), help: upgradeClientHelp('finish') },
  'upgrade-status': { run: upgradeClientCommand('upgrade-status'), help: upgradeClientHelp('upgrade-status') },
};

async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (!verb || verb === 'help' || verb === '--help' || verb === '-h') {
    const topic = verb === 'help' && rest[0] ? VERBS[rest[0]] : undefined;
    console.log(topic ? topic.help : HELP);
    return 0;
  }
  const v = VERBS[verb];
  if (!v) {
    console.error(`metamorph: unknown verb "${verb}"\n\n${HELP}`);
    return 2;
  }
  return v.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: Error & { code?: string }) => {
    console.error(`metamorph: ${e.message}`);
    process.exitCode = e.code === 'CONFIG_INVALID' || (e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? 2 : 1;
  },
);
