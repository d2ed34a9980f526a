import type Database from 'better-sqlite3';
import { SchemaVersionError } from './errors.js';

/**
 * Schema migrations, applied in order; PRAGMA user_version records how many have run.
 * Append new migrations; never edit one that has shipped.
 */
export const MIGRATIONS: readonly string[] = [
  /* 1 */ `
  CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT;

  CREATE TABLE wallets (
    wallet_id TEXT PRIMARY KEY,
    threshold INTEGER NOT NULL CHECK (threshold = 2),
    parties TEXT NOT NULL CHECK (parties IN ('[1,2]', '[1,2,3]')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'locked')),
    address TEXT,
    public_key TEXT,
    locked_reason TEXT,
    locked_at INTEGER,
    created_at INTEGER NOT NULL,
    activated_at INTEGER,
    updated_at INTEGER NOT NULL,
    CHECK (status = 'pending' OR (address IS NOT NULL AND public_key IS NOT NULL)),
    CHECK ((status = 'locked') = (locked_reason IS NOT NULL))
  ) STRICT;

  CREATE TABLE devices (
    device_id TEXT PRIMARY KEY,
    identity_public_key TEXT NOT NULL UNIQUE,
    wallet_id TEXT NOT NULL UNIQUE REFERENCES wallets (wallet_id),
    created_at INTEGER NOT NULL
  ) STRICT;

  -- The current share only: a refresh overwrites it, so an old generation is not kept around.
  CREATE TABLE shares (
    wallet_id TEXT PRIMARY KEY REFERENCES wallets (wallet_id),
    generation INTEGER NOT NULL CHECK (generation >= 0),
    sealed BLOB NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;

  -- A used row keeps its id (so it can never be put back) but loses its sealed state.
  CREATE TABLE presignatures (
    wallet_id TEXT NOT NULL REFERENCES wallets (wallet_id),
    presignature_id TEXT NOT NULL,
    generation INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ready', 'used')),
    sealed_state BLOB,
    created_at INTEGER NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (wallet_id, presignature_id),
    CHECK ((status = 'ready') = (sealed_state IS NOT NULL AND used_at IS NULL))
  ) STRICT;
  CREATE INDEX presignatures_by_status ON presignatures (wallet_id, status);

  CREATE TABLE policies (
    wallet_id TEXT PRIMARY KEY REFERENCES wallets (wallet_id),
    policy TEXT NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;

  -- Wei as decimal text: amounts exceed SQLite's 64-bit integers; sums are done with BigInt.
  CREATE TABLE spends (
    id INTEGER PRIMARY KEY,
    wallet_id TEXT NOT NULL REFERENCES wallets (wallet_id),
    chain_id INTEGER NOT NULL,
    value_wei TEXT NOT NULL,
    at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX spends_window ON spends (wallet_id, chain_id, at);

  CREATE TABLE rate_limit_events (
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX rate_limit_window ON rate_limit_events (bucket, key, at);

  -- No foreign keys: a refusal may name a wallet that does not exist.
  CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    wallet_id TEXT,
    device_id TEXT,
    summary TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
  ) STRICT;
  CREATE INDEX audit_log_by_wallet ON audit_log (wallet_id, seq);
  CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
  CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
  `,
  /* 2: several devices per wallet (a restored one beside the one it replaces), revocation, and the
        share a restore leaves pending until the new device confirmed it stored its own. */ `
  CREATE TABLE devices_v2 (
    device_id TEXT PRIMARY KEY,
    identity_public_key TEXT NOT NULL UNIQUE,
    wallet_id TEXT NOT NULL REFERENCES wallets (wallet_id),
    status TEXT NOT NULL CHECK (status IN ('active', 'restoring', 'revoked')),
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    revoked_reason TEXT,
    CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
  ) STRICT;
  INSERT INTO devices_v2 (device_id, identity_public_key, wallet_id, status, created_at)
    SELECT device_id, identity_public_key, wallet_id, 'active', created_at FROM devices;
  DROP TABLE devices;
  ALTER TABLE devices_v2 RENAME TO devices;
  CREATE INDEX devices_by_wallet ON devices (wallet_id, status);

  CREATE TABLE pending_shares (
    wallet_id TEXT PRIMARY KEY REFERENCES wallets (wallet_id),
    device_id TEXT NOT NULL REFERENCES devices (device_id),
    generation INTEGER NOT NULL,
    sealed BLOB NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;
  `,
  /* 3: a pending share may also come from a refresh, or from a new backup made by the device,
        which may turn a 2-of-2 wallet into a 2-of-3 one when committed. */ `
  ALTER TABLE pending_shares ADD COLUMN kind TEXT NOT NULL DEFAULT 'restore' CHECK (kind IN ('refresh', 'restore', 'new-backup'));
  ALTER TABLE pending_shares ADD COLUMN parties TEXT CHECK (parties IS NULL OR parties IN ('[1,2]', '[1,2,3]'));
  `,
  /* 4: an operator's approval of a restoring device, for wallets whose policy has restoreNeedsOperator. */ `
  ALTER TABLE devices ADD COLUMN restore_approved_at INTEGER;
  `,
  /* 5: which run a pending share came from, so that a commit cannot pair it with another run's shares. */ `
  ALTER TABLE pending_shares ADD COLUMN shares_digest TEXT;
  `,
  /* 6: approvers (identities of their own, enrolled with a one-time code) and the requests a
        policy holds for their decisions, with the sealed presignature each will be finished with. */ `
  CREATE TABLE approver_invitations (
    code_digest TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
  ) STRICT;
  CREATE TABLE approvers (
    approver_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    identity_public_key TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('active', 'removed')),
    created_at INTEGER NOT NULL,
    removed_at INTEGER
  ) STRICT;
  CREATE UNIQUE INDEX approvers_active_name ON approvers (name) WHERE status = 'active';
  CREATE TABLE approval_requests (
    request_id TEXT PRIMARY KEY,
    wallet_id TEXT NOT NULL REFERENCES wallets (wallet_id),
    device_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending-approval', 'approved', 'rejected', 'expired', 'signed', 'broadcast', 'failed')),
    payload_json TEXT NOT NULL,
    digest TEXT NOT NULL,
    payload_hash TEXT NOT NULL,
    decoded TEXT NOT NULL,
    quorums TEXT NOT NULL,
    presignature_id TEXT NOT NULL,
    generation INTEGER NOT NULL,
    sealed BLOB,
    result TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CHECK (sealed IS NULL OR state IN ('pending-approval', 'approved'))
  ) STRICT;
  CREATE INDEX approval_requests_by_wallet ON approval_requests (wallet_id, created_at);
  CREATE INDEX approval_requests_by_state ON approval_requests (state, expires_at);
  CREATE TABLE approval_decisions (
    request_id TEXT NOT NULL REFERENCES approval_requests (request_id),
    approver_id TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('approve', 'reject')),
    decided_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (request_id, approver_id)
  ) STRICT;
  `,
  /* 7: a transaction signed again (a retry after an instance died with its answer in flight) is spent once. */ `
  ALTER TABLE spends ADD COLUMN tx_digest TEXT;
  CREATE UNIQUE INDEX spends_by_digest ON spends (wallet_id, chain_id, tx_digest) WHERE tx_digest IS NOT NULL;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the schema up to SCHEMA_VERSION; each migration commits with its version number or not at all. */
export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) throw new SchemaVersionError(current, SCHEMA_VERSION);
  for (let version = current + 1; version <= SCHEMA_VERSION; version += 1) {
    db.transaction(() => {
      // Re-read inside the write lock: another process may have migrated meanwhile.
      const now = db.pragma('user_version', { simple: true }) as number;
      if (now >= version) return;
      db.exec(MIGRATIONS[version - 1]!);
      db.pragma(`user_version = ${version}`);
    }).immediate();
  }
}
