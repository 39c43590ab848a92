import { describe, expect, it } from 'vitest';
import { crc32 } from 'node:zlib';
import { decodeRecord, encodeRecords, MAX_BODY_BYTES, RECORD_HEADER_BYTES } from '../../src/journal/record-codec.js';
import type { StoredRecord } from '../../src/journal/record.js';
import { statement } from './helpers.js';

function record(seq: number, sql: Buffer | string, extra: Partial<StoredRecord['entry']> = {}): StoredRecord {
  return { entry: { ...statement(sql), seq, txn: 7, conn: 3, last: true, ...extra }, batchSeq: seq, batchEnd: true };
}

describe('record codec', () => {
  it('round-trips every field, including NULL db, big numbers and every byte value in sql', () => {
    const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const r = record(2 ** 53 - 1, allBytes, {
      db: null,
      ts: 1_732_000_000_123_456,
      affectedRows: 2 ** 40,
      insertId: '18446744073709551615',
      flags: ['now()', 'rand()'],
      kind: 'délete',
      session: { '@x': '@x = 5', names: 'NAMES utf8mb4 COLLATE utf8mb4_bin' },
      last: false,
      txn: 2 ** 52,
      conn: 0xffffffff,
    });
    const buf = encodeRecords([r]);
    const decoded = decodeRecord(buf);
    expect(decoded).toEqual({ status: 'ok', record: r, size: buf.length });
  });

  it('decodes records back to back and reports a short buffer as incomplete', () => {
    const buf = encodeRecords([record(1, 'INSERT INTO t VALUES (1)'), record(2, 'UPDATE t SET a = 2')]);
    const first = decodeRecord(buf, 0);
    if (first.status !== 'ok') throw new Error(`first record: ${JSON.stringify(first)}`);
    const second = decodeRecord(buf, first.size);
    expect(second.status === 'ok' && second.record.entry.sql.toString()).toBe('UPDATE t SET a = 2');
    expect(decodeRecord(buf.subarray(0, 5))).toEqual({ status: 'incomplete', needed: RECORD_HEADER_BYTES });
    expect(decodeRecord(buf.subarray(0, first.size - 1))).toEqual({ status: 'incomplete', needed: first.size });
  });

  it('rejects every single-bit flip as invalid (or, in the length field, as a length it cannot trust)', () => {
    const buf = encodeRecords([record(9, "INSERT INTO t VALUES ('x')")]);
    for (let i = 0; i < buf.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const damaged = Buffer.from(buf);
        damaged[i] ^= 1 << bit;
        expect(decodeRecord(damaged).status, `byte ${i} bit ${bit}`).toBe('invalid');
      }
    }
  });

  it('returns invalid for random garbage without throwing', () => {
    let seed = 12345;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
    for (let n = 0; n < 2000; n++) {
      const junk = Buffer.from(Array.from({ length: 14 + (n % 200) }, random));
      if (n % 2 === 0) junk.write('MJ', 0, 'latin1');
      expect(['invalid', 'incomplete']).toContain(decodeRecord(junk).status);
    }
  });

  it('checks the header before trusting its length: above 1 GiB is invalid, below is only a request for more bytes', () => {
    const withLength = (length: number) => {
      const header = Buffer.alloc(RECORD_HEADER_BYTES);
      header.write('MJ', 0, 'latin1');
      header.writeUInt32LE(length, 2);
      header.writeUInt32LE(crc32(header.subarray(0, 10)), 10);
      return header;
    };
    expect(decodeRecord(withLength(MAX_BODY_BYTES + 1))).toEqual({ status: 'invalid', reason: `record length ${MAX_BODY_BYTES + 1} above the limit` });
    expect(decodeRecord(withLength(500 * 1024 * 1024))).toEqual({ status: 'incomplete', needed: RECORD_HEADER_BYTES + 500 * 1024 * 1024 });
    const damagedLength = encodeRecords([record(1, 'SELECT 1')]);
    damagedLength.writeUInt32LE(0xffffffff, 2);
    expect(decodeRecord(damagedLength)).toEqual({ status: 'invalid', reason: 'record header checksum mismatch' });
  });
});
