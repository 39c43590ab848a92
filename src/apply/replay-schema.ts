/**
 * The replayer's bookkeeping in the target: its position (written in the same transaction as
 * the writes it covers) and the repair queue. One schema, shared by all consumers.
 */
export const REPLAY_SCHEMA = 'metamorph_replay';
export const APPLIED_TABLE = `${REPLAY_SCHEMA}.applied`;
export const REPAIR_TABLE = `${REPLAY_SCHEMA}.repair_queue`;

export const REPLAY_SCHEMA_SQL = [
  `CREATE DATABASE IF NOT EXISTS ${REPLAY_SCHEMA}`,
  `CREATE TABLE IF NOT EXISTS ${APPLIED_TABLE} (
    consumer VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    seq BIGINT NOT NULL COMMENT 'last journal seq applied',
    txn BIGINT NOT NULL COMMENT 'journal txn of that seq',
    ddl_seq BIGINT NULL COMMENT 'a DDL at this seq was started and may have taken effect (DDL commits on its own)',
    updated_at DATETIME(6) NOT NULL
  ) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS ${REPAIR_TABLE} (
    consumer VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    seq BIGINT NOT NULL COMMENT 'journal seq that could not be applied faithfully',
    item_type VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    item_key VARCHAR(512) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    reason TEXT NOT NULL,
    queued_at DATETIME(6) NOT NULL,
    PRIMARY KEY (consumer, seq, item_type, item_key),
    KEY item (item_type, item_key)
  ) ENGINE=InnoDB`,
];
