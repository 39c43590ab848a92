import { Capability, ServerStatus } from '../protocol/constants.js';
import { parseOk, type OkPacket } from '../protocol/ok-packet.js';
import { parseErr } from '../protocol/err-packet.js';
import { parseEof } from '../protocol/eof-packet.js';
import { parsePrepareOk } from '../protocol/stmt-prepare-ok.js';
import { ProtocolError } from '../protocol/errors.js';

/** The shape of the server's answer to one command. */
export type ResponseKind =
  | 'resultset'   // COM_QUERY, COM_STMT_EXECUTE, COM_PROCESS_INFO: OK | ERR | result sets, maybe several
  | 'prepare'     // COM_STMT_PREPARE
  | 'rows'        // COM_STMT_FETCH: rows until a terminator
  | 'field_list'  // COM_FIELD_LIST: column definitions until a terminator
  | 'simple'      // one OK / ERR / EOF packet
  | 'raw';        // one packet of any shape (COM_STATISTICS answers with a bare string)

export type ResultEvent =
  | { type: 'ok'; ok: OkPacket }
  | { type: 'err'; code: number; sqlState: string; message: string }
  | { type: 'rows_end'; status: number }
  | { type: 'local_infile' }
  | { type: 'prepared'; statementId: number; numParams: number; numColumns: number };

export interface FeedResult {
  /** A statement result completed with this packet (one per statement of a multi-statement query). */
  event?: ResultEvent;
  /** The whole command's response is complete. */
  done: boolean;
}

const HEADER_OK = 0x00;
const HEADER_ERR = 0xff;
const HEADER_EOF = 0xfe;
const HEADER_LOCAL_INFILE = 0xfb;
const MAX_FRAME = 0xffffff;

type State =
  | 'first' | 'columns' | 'columns_eof' | 'rows'
  | 'prepare_params' | 'prepare_params_eof' | 'prepare_columns' | 'prepare_columns_eof';

/**
 * Follows the server's packets for one command to find where each statement result and the
 * whole response end, without buffering rows. Reads only header bytes of row packets.
 */
export class ResponseTracker {
  private state: State;
  private remaining = 0;
  private prepareColumns = 0;
  private readonly deprecateEof: boolean;

  constructor(private readonly kind: ResponseKind, private readonly caps: number) {
    this.deprecateEof = (caps & Capability.DEPRECATE_EOF) !== 0;
    this.state = kind === 'rows' || kind === 'field_list' ? 'rows' : 'first';
  }

  feed(payload: Buffer): FeedResult {
    switch (this.kind) {
      case 'raw':
        return { done: true };
      case 'simple':
        return this.simple(payload);
      case 'prepare':
        return this.prepare(payload);
      default:
        return this.resultset(payload);
    }
  }

  private simple(p: Buffer): FeedResult {
    const h = p[0];
    if (h === HEADER_OK) return { event: { type: 'ok', ok: parseOk(p, this.caps) }, done: true };
    if (h === HEADER_ERR) return { event: this.err(p), done: true };
    if (h === HEADER_EOF) return { event: { type: 'rows_end', status: this.terminatorStatus(p) }, done: true };
    return { done: true };
  }

  private err(p: Buffer): ResultEvent {
    const e = parseErr(p, this.caps);
    return { type: 'err', code: e.code, sqlState: e.sqlState, message: e.message };
  }

  private isTerminator(p: Buffer): boolean {
    return p[0] === HEADER_EOF && p.length < MAX_FRAME;
  }

  private terminatorStatus(p: Buffer): number {
    // A DEPRECATE_EOF terminator is an OK packet with a 0xFE header; a classic EOF is 5 bytes.
    return p.length < 9 ? parseEof(p).status : parseOk(p, this.caps).status;
  }

  private endOfResult(status: number): FeedResult {
    const more = (status & ServerStatus.MORE_RESULTS_EXISTS) !== 0;
    this.state = 'first';
    return { event: { type: 'rows_end', status }, done: !more };
  }

  private resultset(p: Buffer): FeedResult {
    switch (this.state) {
      case 'first': {
        const h = p[0];
        if (h === HEADER_OK) {
          const ok = parseOk(p, this.caps);
          return { event: { type: 'ok', ok }, done: (ok.status & ServerStatus.MORE_RESULTS_EXISTS) === 0 };
        }
        if (h === HEADER_ERR) return { event: this.err(p), done: true };
        if (h === HEADER_LOCAL_INFILE) return { event: { type: 'local_infile' }, done: false };
        this.remaining = columnCount(p);
        this.state = 'columns';
        return { done: false };
      }
      case 'columns':
        if (--this.remaining === 0) this.state = this.deprecateEof ? 'rows' : 'columns_eof';
        return { done: false };
      case 'columns_eof': {
        const status = this.terminatorStatus(p);
        // A cursor was opened: rows come later through COM_STMT_FETCH.
        if (status & ServerStatus.CURSOR_EXISTS) return this.endOfResult(status);
        this.state = 'rows';
        return { done: false };
      }
      case 'rows':
        if (p[0] === HEADER_ERR) return { event: this.err(p), done: true };
        if (this.isTerminator(p)) return this.endOfResult(this.terminatorStatus(p));
        return { done: false };
      default:
        throw new ProtocolError('UNEXPECTED_STATE', `response tracker in state ${this.state} for ${this.kind}`);
    }
  }

  private prepare(p: Buffer): FeedResult {
    switch (this.state) {
      case 'first': {
        if (p[0] === HEADER_ERR) return { event: this.err(p), done: true };
        const ok = parsePrepareOk(p);
        this.prepareColumns = ok.numColumns;
        const event: ResultEvent = { type: 'prepared', statementId: ok.statementId, numParams: ok.numParams, numColumns: ok.numColumns };
        if (ok.numParams > 0) {
          this.remaining = ok.numParams;
          this.state = 'prepare_params';
          return { event, done: false };
        }
        return { event, done: this.startPrepareColumns() };
      }
      case 'prepare_params':
        if (--this.remaining > 0) return { done: false };
        if (!this.deprecateEof) {
          this.state = 'prepare_params_eof';
          return { done: false };
        }
        return { done: this.startPrepareColumns() };
      case 'prepare_params_eof':
        return { done: this.startPrepareColumns() };
      case 'prepare_columns':
        if (--this.remaining > 0) return { done: false };
        if (!this.deprecateEof) {
          this.state = 'prepare_columns_eof';
          return { done: false };
        }
        return { done: true };
      case 'prepare_columns_eof':
        return { done: true };
      default:
        throw new ProtocolError('UNEXPECTED_STATE', `response tracker in state ${this.state} for prepare`);
    }
  }

  /** Returns true when no column definitions follow (the response is complete). */
  private startPrepareColumns(): boolean {
    if (this.prepareColumns === 0) return true;
    this.remaining = this.prepareColumns;
    this.state = 'prepare_columns';
    return false;
  }
}

function columnCount(p: Buffer): number {
  if (p.length === 0) throw new ProtocolError('TRUNCATED', 'empty packet where a result set header was expected');
  const h = p[0];
  if (h < 0xfb) return h;
  if (h === 0xfc && p.length >= 3) return p.readUInt16LE(1);
  if (h === 0xfd && p.length >= 4) return p.readUIntLE(1, 3);
  throw new ProtocolError('BAD_COLUMN_COUNT', `result set header with invalid column count (first byte 0x${h.toString(16)})`);
}
