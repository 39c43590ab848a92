import { ByteReader } from './bytes.js';
import { readConnectAttrs } from './connect-attrs.js';
import { Capability } from './constants.js';
import { ProtocolError } from './errors.js';

/** Server greeting, Protocol::HandshakeV10. */
export interface Greeting {
  protocolVersion: number;
  serverVersion: string;
  connectionId: number;
  /** Lower and upper 16 bits combined, unsigned. */
  capabilities: number;
  /** MariaDB extended capabilities (upper u32 of its 64-bit set); 0 for MySQL servers. */
  mariadbCapabilities: number;
  charset: number;
  status: number;
  authPluginName: string | null;
  /** Auth plugin data parts 1 and 2 without the trailing NUL (20 bytes for mysql_native_password). */
  scramble: Buffer;
}

/** Client reply to the greeting, Protocol::HandshakeResponse41. */
export interface HandshakeResponse {
  capabilities: number;
  mariadbCapabilities: number;
  maxPacket: number;
  charset: number;
  user: string;
  authResponse: Buffer;
  /** null when the client selects no database. */
  database: string | null;
  authPluginName: string | null;
  attrs: Record<string, string>;
}

export interface CapabilityBits {
  capabilities?: number;
  mariadb?: number;
}

const PROTOCOL_VERSION = 10;
/** SSLRequest and the fixed part of HandshakeResponse41: caps, max packet, charset, 23 filler. */
const RESPONSE_FIXED_SIZE = 32;
/** Offset of the MariaDB extended capabilities: the last 4 of the 23 filler bytes. */
const RESPONSE_MARIADB_CAPS_OFFSET = 28;
/** Auth plugin data part 2 is at least 13 bytes (12 of scramble and a NUL). */
const MIN_SCRAMBLE_PART2 = 13;

/** Where the rewritable capability fields of a greeting are; -1 when the greeting lacks them. */
interface GreetingLayout {
  lowerCaps: number;
  upperCaps: number;
  mariadbCaps: number;
}

export function parseGreeting(payload: Buffer): Greeting {
  return readGreeting(payload).greeting;
}

function readGreeting(payload: Buffer): { greeting: Greeting; layout: GreetingLayout } {
  const r = new ByteReader(payload);
  const protocolVersion = r.u8();
  if (protocolVersion !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      protocolVersion === 0xff ? 'NOT_GREETING' : 'UNSUPPORTED_PROTOCOL',
      protocolVersion === 0xff
        ? 'server sent an ERR packet instead of a greeting; parse it with parseErr'
        : `greeting protocol version ${protocolVersion} is not supported (only 10)`,
    );
  }
  const serverVersion = r.nulString();
  const connectionId = r.u32();
  const part1 = r.bytes(8);
  r.skip(1);
  const layout: GreetingLayout = { lowerCaps: r.offset, upperCaps: -1, mariadbCaps: -1 };
  let capabilities = r.u16();
  const greeting: Greeting = {
    protocolVersion,
    serverVersion,
    connectionId,
    capabilities,
    mariadbCapabilities: 0,
    charset: 0,
    status: 0,
    authPluginName: null,
    scramble: Buffer.from(part1),
  };
  // Servers older than 4.1 stop here.
  if (r.remaining === 0) return { greeting, layout };

  greeting.charset = r.u8();
  greeting.status = r.u16();
  layout.upperCaps = r.offset;
  capabilities = (capabilities | (r.u16() << 16)) >>> 0;
  greeting.capabilities = capabilities;
  const authDataLength = r.u8();
  r.skip(6);
  if (!(capabilities & Capability.CLIENT_MYSQL)) {
    layout.mariadbCaps = r.offset;
    greeting.mariadbCapabilities = r.u32();
  } else {
    r.skip(4);
  }
  if (capabilities & Capability.SECURE_CONNECTION) {
    const part2 = r.bytes(Math.max(MIN_SCRAMBLE_PART2, authDataLength - 8));
    const end = part2[part2.length - 1] === 0 ? part2.length - 1 : part2.length;
    greeting.scramble = Buffer.concat([part1, part2.subarray(0, end)]);
  }
  if (capabilities & Capability.PLUGIN_AUTH && r.remaining > 0) {
    greeting.authPluginName = r.nulBytesOrRest().toString('utf8');
  }
  return { greeting, layout };
}

/**
 * Copy of a greeting with capability bits cleared, then set; every other byte is unchanged.
 * Upper bits are ignored for a pre-4.1 greeting that has no upper field; MariaDB bits apply only
 * when the greeting carries them (CLIENT_MYSQL clear).
 */
export function rewriteGreetingCapabilities(payload: Buffer, clear: CapabilityBits, set: CapabilityBits = {}): Buffer {
  const { layout } = readGreeting(payload);
  const out = Buffer.from(payload);
  const caps = applyBits(
    out.readUInt16LE(layout.lowerCaps) + (layout.upperCaps >= 0 ? out.readUInt16LE(layout.upperCaps) * 0x10000 : 0),
    clear.capabilities,
    set.capabilities,
  );
  out.writeUInt16LE(caps & 0xffff, layout.lowerCaps);
  if (layout.upperCaps >= 0) out.writeUInt16LE(caps >>> 16, layout.upperCaps);
  if (layout.mariadbCaps >= 0 && !(caps & Capability.CLIENT_MYSQL)) {
    out.writeUInt32LE(applyBits(out.readUInt32LE(layout.mariadbCaps), clear.mariadb, set.mariadb), layout.mariadbCaps);
  }
  return out;
}

/** An SSLRequest is the 32-byte fixed part of a handshake response with CLIENT_SSL set. */
export function isSslRequest(payload: Buffer): boolean {
  return payload.length === RESPONSE_FIXED_SIZE && (payload.readUInt32LE(0) & Capability.SSL) !== 0;
}

/**
 * Parses HandshakeResponse41. The optional tail (database, plugin name, attributes) may be cut
 * short: what is missing is reported as null / empty, as servers tolerate.
 */
export function parseHandshakeResponse(payload: Buffer): HandshakeResponse {
  const r = new ByteReader(payload);
  const capabilities = r.u32();
  if (!(capabilities & Capability.PROTOCOL_41)) {
    throw new ProtocolError(
      'UNSUPPORTED_PROTOCOL',
      'handshake response without CLIENT_PROTOCOL_41 (pre-4.1 client) is not supported',
    );
  }
  const maxPacket = r.u32();
  const charset = r.u8();
  r.skip(RESPONSE_MARIADB_CAPS_OFFSET - r.offset);
  const extended = r.u32();
  const mariadbCapabilities = capabilities & Capability.CLIENT_MYSQL ? 0 : extended;
  const user = r.nulString();
  const authResponse = readAuthResponse(r, capabilities);
  let database: string | null = null;
  if (capabilities & Capability.CONNECT_WITH_DB && r.remaining > 0) {
    database = r.nulBytesOrRest().toString('utf8') || null;
  }
  let authPluginName: string | null = null;
  if (capabilities & Capability.PLUGIN_AUTH && r.remaining > 0) {
    authPluginName = r.nulBytesOrRest().toString('utf8');
  }
  const attrs =
    capabilities & Capability.CONNECT_ATTRS && r.remaining > 0 ? readConnectAttrs(r) : Object.create(null);
  return { capabilities, mariadbCapabilities, maxPacket, charset, user, authResponse, database, authPluginName, attrs };
}

function readAuthResponse(r: ByteReader, capabilities: number): Buffer {
  if (r.remaining === 0) return Buffer.alloc(0);
  if (capabilities & Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA) return r.lenencBytes();
  if (capabilities & Capability.SECURE_CONNECTION) return r.bytes(r.u8());
  return r.nulBytesOrRest();
}

/**
 * Copy of a handshake response (or SSLRequest) with capability bits cleared, then set. Only the
 * flags change: clear only bits whose data the client did not send (bits it could not have used
 * because the greeting it saw did not offer them), or the server will misparse the rest.
 */
export function rewriteHandshakeResponseCapabilities(
  payload: Buffer,
  clear: CapabilityBits,
  set: CapabilityBits = {},
): Buffer {
  if (payload.length < RESPONSE_FIXED_SIZE) {
    throw new ProtocolError(
      'TRUNCATED',
      `handshake response of ${payload.length} bytes is shorter than its ${RESPONSE_FIXED_SIZE}-byte fixed part`,
    );
  }
  const out = Buffer.from(payload);
  const caps = applyBits(out.readUInt32LE(0), clear.capabilities, set.capabilities);
  out.writeUInt32LE(caps, 0);
  if (!(caps & Capability.CLIENT_MYSQL)) {
    const offset = RESPONSE_MARIADB_CAPS_OFFSET;
    out.writeUInt32LE(applyBits(out.readUInt32LE(offset), clear.mariadb, set.mariadb), offset);
  }
  return out;
}

function applyBits(value: number, clear = 0, set = 0): number {
  return ((value & ~clear) | set) >>> 0;
}
