import { ByteReader } from './bytes.js';
import { readConnectAttrs } from './connect-attrs.js';
import { Capability, Command } from './constants.js';
import { ProtocolError } from './errors.js';

export interface ChangeUser {
  user: string;
  authResponse: Buffer;
  /** null when no database is selected. */
  database: string | null;
  /** null when the client sent no character set (old clients stop after the database). */
  charset: number | null;
  authPluginName: string | null;
  attrs: Record<string, string>;
}

/**
 * Parses COM_CHANGE_USER: user NUL, auth data (u8 length with CLIENT_SECURE_CONNECTION, else NUL
 * terminated), database NUL, then optionally charset u16, plugin name NUL (CLIENT_PLUGIN_AUTH) and
 * connection attributes (CLIENT_CONNECT_ATTRS). `caps` are the negotiated capabilities.
 */
export function parseChangeUser(payload: Buffer, caps: number): ChangeUser {
  const r = new ByteReader(payload);
  const command = r.u8();
  if (command !== Command.CHANGE_USER) {
    throw new ProtocolError(
      'NOT_CHANGE_USER',
      `command byte 0x${command.toString(16)} is not COM_CHANGE_USER (0x${Command.CHANGE_USER.toString(16)})`,
    );
  }
  const user = r.nulString();
  const authResponse = caps & Capability.SECURE_CONNECTION ? r.bytes(r.u8()) : r.nulBytesOrRest();
  const database = r.remaining > 0 ? r.nulBytesOrRest().toString('utf8') || null : null;
  const charset = r.remaining >= 2 ? r.u16() : null;
  const authPluginName =
    caps & Capability.PLUGIN_AUTH && r.remaining > 0 ? r.nulBytesOrRest().toString('utf8') : null;
  const attrs = caps & Capability.CONNECT_ATTRS && r.remaining > 0 ? readConnectAttrs(r) : Object.create(null);
  return { user, authResponse, database, charset, authPluginName, attrs };
}
