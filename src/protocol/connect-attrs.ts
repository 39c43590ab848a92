import { ByteReader } from './bytes.js';

/**
 * CLIENT_CONNECT_ATTRS block: a length-encoded total size, then length-encoded key/value pairs.
 * The result has no prototype so keys such as "__proto__" are stored as plain data.
 */
export function readConnectAttrs(r: ByteReader): Record<string, string> {
  const block = new ByteReader(r.lenencBytes());
  const attrs: Record<string, string> = Object.create(null);
  while (block.remaining > 0) {
    const key = block.lenencString();
    attrs[key] = block.lenencString();
  }
  return attrs;
}

