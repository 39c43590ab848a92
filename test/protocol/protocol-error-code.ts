import { expect } from 'vitest';
import { ProtocolError } from '../../src/protocol/errors.js';

/** The code of the ProtocolError `fn` throws; fails the test if it throws anything else or nothing. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    return (e as ProtocolError).code;
  }
  throw new Error('expected a ProtocolError');
}
