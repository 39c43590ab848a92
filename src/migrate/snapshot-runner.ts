import type { ConnectionOptions } from 'mysql2/promise';
import { TargetSession } from '../apply/target-session.js';
import type { SqlRunner } from '../translate/pack.js';
import type { SnapshotSession } from './consistent-cut.js';

/**
 * A source connection, USEing the database a pack converts, that packs read through (SqlRunner)
 * inside the cut's snapshot: the runner packs' listItems/convertItem take. The snapshot is a
 * REPEATABLE READ transaction opened while the proxy's gate is locked (see takeCut).
 */
export class SnapshotRunner implements SqlRunner, SnapshotSession {
  private constructor(private readonly session: TargetSession) {}

  static async open(opts: ConnectionOptions, database: string): Promise<SnapshotRunner> {
    const session = await TargetSession.open({ ...opts, database });
    try {
      await session.exec('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    } catch (err) {
      await session.close();
      throw err;
    }
    return new SnapshotRunner(session);
  }

  async beginSnapshot(): Promise<void> {
    await this.session.exec('START TRANSACTION WITH CONSISTENT SNAPSHOT');
  }

  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> {
    return this.session.query<T>(sql, params);
  }

  exec(sql: string | Buffer, params?: unknown[]): Promise<{ affectedRows: number; insertId: number }> {
    return this.session.exec(sql, params);
  }

  close(): Promise<void> {
    return this.session.close();
  }

  destroy(): void {
    void this.session.close();
  }
}
