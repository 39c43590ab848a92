import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../harness/proxy-process.js';

// A config file with a syntax error must not print the secret next to the error: operators
// paste such messages into tickets, and stderr lands in the system journal. JSON.parse's own
// message quotes ~10 characters around the bad token, which is the value itself when a password
// or token was written without quotes. Runs dist/cli.js (`npm run build` first).

let dir: string;

beforeAll(() => {
  dir = mkdtempSync('/dev/shm/metamorph-sec-config-');
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const CASES = [
  {
    name: 'a proxy config with an unquoted switchover credential',
    secret: 'hunter2x',
    args: (file: string) => ['proxy', '--config', file],
    text: '{ "switchover": { "credentials": { "app": hunter2x } } }',
  },
  {
    name: 'a proxy config with an unquoted admin token',
    secret: 'TokQ8w7e6r5t4y3u',
    args: (file: string) => ['proxy', '--config', file],
    text: '{ "admin": { "tcp": { "host": "127.0.0.1", "port": 0, "token": TokQ8w7e6r5t4y3u } } }',
  },
  {
    name: 'an upgrade config with an unquoted DSN',
    secret: 'Pw7secret',
    args: (file: string) => ['upgrade', '--config', file],
    text: '{ "pack": "identity", "source": mysql://migrator:Pw7secret@db1:3306/ }',
  },
  {
    name: 'an upgrade config with an unquoted ssh password for the switchover hook',
    secret: 'SshPw5secret',
    args: (file: string) => ['upgrade', '--config', file],
    text: '{ "pack": "identity", "switchover": { "hook": { "command": "x", "ssh": { "host": "app1", "username": "deploy", "password": SshPw5secret } } } }',
  },
];

describe('a config file that is not JSON', () => {
  it.each(CASES.map((c, i) => ({ ...c, i })))('$name: exit 2 naming the file, no part of the secret printed', async ({ secret, args, text, i }) => {
    const file = join(dir, `config-${i}.json`);
    writeFileSync(file, text, { mode: 0o600 });
    const r = await runCli(args(file), 10_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(/not (valid )?JSON/);
    // Part of a secret is a leak too: any 6 characters of it in a row.
    const pieces = Array.from({ length: secret.length - 5 }, (_, k) => secret.slice(k, k + 6));
    const leaked = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => pieces.some((p) => l.includes(p)));
    expect(leaked).toEqual([]);
  });
});
