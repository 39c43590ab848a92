#!/usr/bin/env node
// MediaWiki 1.4 -> 1.5 translation rate, without the database: runs the pack over a realistic
// write mix (test/mediawiki/pack-throughput.test.ts) and prints its journal records/s
// (target >= 5k). The rate against a real target is in test/mediawiki/pack-e2e.test.ts's output.
// Usage: node bench/mediawiki-translate.mjs
import { spawnSync } from 'node:child_process';

const r = spawnSync('npx', ['vitest', 'run', 'test/mediawiki/pack-throughput.test.ts', 'test/mediawiki/pack-e2e.test.ts'], { encoding: 'utf8' });
const lines = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /journal records\/s|entries\/s/.test(l));
for (const l of lines) console.log(l.replace(/\x1b\[[0-9;]*m/g, '').trim());
process.exitCode = r.status ?? 1;
