import type { AdminConnection } from '../admin/admin-client.js';
import { RELEASE_LIMIT_MS } from './step-timer.js';
import { SwitchoverError } from './switchover-error.js';

/** How much later than the proxy's own timeout its reply may arrive before the connection is given up. */
const REPLY_SLACK_MS = 2_000;

export type Reply = Record<string, unknown>;

/** The write-gate commands a switchover sends, over the one admin connection that holds the lease. */
export class GateClient {
  constructor(private readonly admin: AdminConnection) {}

  /** `lock T lease`: resolves to the quiesced seq; a lock that times out rejects naming its blockers. */
  async lock(timeoutMs: number): Promise<Reply & { seq: number }> {
    const reply = await this.send(`lock ${timeoutMs} lease`, timeoutMs);
    if (reply.ok !== true) throw refused('lock', reply, describeBlockers(reply.blockers));
    return { ...reply, seq: seqOf(reply, 'lock') };
  }

  /** `drain T`: held writes run on the current upstream; resolves once quiesced again. */
  async drain(timeoutMs: number): Promise<Reply & { seq: number; released: number }> {
    const reply = await this.send(`drain ${timeoutMs}`, timeoutMs);
    if (reply.ok !== true) throw refused('drain', reply, describeBlockers(reply.blockers));
    return { ...reply, seq: seqOf(reply, 'drain'), released: Number(reply.released ?? 0) };
  }

  /** `flip H:P T`: every session moves to the new upstream. A refusal means nothing moved. */
  async flip(host: string, port: number, timeoutMs: number): Promise<Reply> {
    const reply = await this.send(`flip ${host}:${port} ${timeoutMs}`, timeoutMs);
    if (reply.ok !== true) throw refused('flip', reply, 'nothing was moved');
    return reply;
  }

  async unlock(): Promise<Reply> {
    return this.expectOk('unlock', await this.send('unlock'));
  }

  async reject(): Promise<Reply> {
    return this.expectOk('lock-reject', await this.send('lock-reject'));
  }

  /** The journal head: every acknowledged commit is at or below it. */
  async headSeq(): Promise<number> {
    const reply = this.expectOk('position', await this.send('position'));
    return Number(reply.headSeq);
  }

  /** Does the proxy now send to host:port? (For a flip whose reply was lost.) */
  async upstreamIs(host: string, port: number): Promise<boolean> {
    const reply = this.expectOk('status', await this.send('status', RELEASE_LIMIT_MS));
    return reply.upstream === `${host}:${port}`;
  }

  private send(line: string, timeoutMs = 0): Promise<Reply> {
    return this.admin.request(line, timeoutMs + REPLY_SLACK_MS).catch((err: Error) => {
      throw new SwitchoverError('SWITCHOVER_STEP_FAILED',
        `${err.message}; the proxy unlocks a leased lock when its admin connection closes, so held writes are released`, undefined, { cause: err });
    });
  }

  private expectOk(command: string, reply: Reply): Reply {
    if (reply.ok !== true) throw refused(command, reply, 'see the proxy log');
    return reply;
  }
}

function refused(command: string, reply: Reply, more: string): SwitchoverError {
  const blockers = Array.isArray(reply.blockers) && reply.blockers.length > 0 ? reply.blockers : undefined;
  return new SwitchoverError('SWITCHOVER_GATE_REFUSED', `the proxy refused ${command}: ${String(reply.error ?? 'no reason given')}; ${more}`, blockers);
}

function seqOf(reply: Reply, command: string): number {
  const seq = Number(reply.seq);
  if (!Number.isSafeInteger(seq) || seq < 0) throw new SwitchoverError('SWITCHOVER_GATE_REFUSED', `the ${command} reply has no journal seq: ${JSON.stringify(reply)}; is the proxy a version with switchover support?`);
  return seq;
}

/** "connection 7 (app@127.0.0.1:50312, writing for 2.1 s, last statement: UPDATE ...)", for the abort reason. */
function describeBlockers(blockers: unknown): string {
  if (!Array.isArray(blockers) || blockers.length === 0) return 'no connection was named as blocking';
  const named = blockers.map((b: Record<string, unknown>) => {
    const writing = b.writingSeconds === null || b.writingSeconds === undefined ? 'a write in flight' : `in a transaction that has written for ${b.writingSeconds} s`;
    return `connection ${b.id} (${b.user}@${b.host}, ${writing}, last statement: ${String(b.lastStatement ?? '').slice(0, 120)})`;
  });
  return `blocked by ${named.join('; ')}: commit or end those transactions, or raise the lock budget`;
}
