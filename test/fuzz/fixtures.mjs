// Real packets captured once by capture-fixtures.mjs from mysql2, the mariadb CLI and PHP mysqli
// talking to MariaDB 10.11: the valid starting points the fuzzers mutate.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const DIR = new URL('./fixtures/', import.meta.url).pathname;

/**
 * Payloads by direction and phase: client.handshake (handshake responses, auth switch answers),
 * client.commands, server.handshake (greetings, auth switches, OKs), server.replies; and
 * server.responses: the reply packets of each command, grouped, as the server sent them.
 */
export function loadFixtures() {
  const out = { clients: [], client: { handshake: [], commands: [] }, server: { handshake: [], replies: [], responses: [] } };
  for (const name of readdirSync(DIR).filter((f) => f.endsWith('.json')).sort()) {
    const { client, sessions } = JSON.parse(readFileSync(join(DIR, name), 'utf8'));
    out.clients.push(client);
    for (const packet of sessions.flat()) {
      const payload = Buffer.from(packet.hex, 'hex');
      const side = out[packet.from];
      if (packet.phase === 'handshake') side.handshake.push(payload);
      else if (packet.from === 'client') side.commands.push(payload);
      else {
        side.replies.push(payload);
        if (packet.seq === 1) side.responses.push([]);
        side.responses.at(-1)?.push(payload);
      }
    }
  }
  return out;
}
