/**
 * The PostgreSQL schema: the same tables and constraints as the SQLite one (../schema.ts) in its
 * current version, with PostgreSQL types (BIGINT milliseconds, BYTEA sealed values, NUMERIC wei).
 * Its versions are its own: table schema_migrations records each one applied.
 * Append new migrations; never edit one that has shipped.
 */
import type pg from 'pg';
import { SchemaVersionError } from '../errors.js';
import { transaction } from './pg-sql.js';

/** Advisory lock keys (pg_advisory_xact_lock): one co-signer migrates at a time; one audit row is chained at a time. */
export const MIGRATION_LOCK_KEY = 0x7a_6e_d0_01;
export const AUDIT_LOCK_KEY = 0x7a_6e_d0_02;

export const PG_MIGRATIONS: readonly string[] = [
  /* 1 */ `
  CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );

  CREATE TABLE wallets (
    wallet_id TEXT PRIMARY KEY,
    threshold INTEGER NOT NULL CHECK (threshold = 2),
    parties TEXT NOT NULL CHECK (parties IN ('[1,2]', '[1,2,3]')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'locked')),
    address TEXT,
    public_key TEXT,
    locked_reason TEXT,
    locked_at BIGINT,
    created_at BIGINT NOT NULL,
    activated_at BIGINT,
    updated_at BIGINT NOT NULL,
    CHECK (status = 'pending' OR (address IS NOT NULL AND public_key IS NOT NULL)),
    CHECK ((status = 'locked') = (locked_reason IS NOT NULL))
  );

  CREATE TABLE devices (
    device_id TEXT PRIMARY KEY,
    identity_public_key TEXT NOT NULL UNIQUE,
    wallet_id TEXT NOT NULL REFERENCES wallets (wallet_id),
    status TEXT NOT NULL CHECK (status IN ('active', 'restoring', 'revoked')),
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_reason TEXT,
    restore_approved_at BIGINT,
    CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
  );
  CREATE INDEX devices_by_wallet ON devices (wallet_id, status);

  -- The current share only: a refresh overwrites it, so an old generation is not kept around.
  CREATE TABLE shares (
    wallet_id TEXT PRIMARY KEY REFERENCES wallets (wallet_id),
    generation INTEGER NOT NULL CHECK (generation >= 0),
    sealed BYTEA NOT NULL,
    updated_at BIGINT NOT NULL
  );

  CREATE TABLE pending_shares (
    wallet_id TEXT PRIMARY KEY REFERENCES wallets (wallet_id),
    device_id TEXT NOT NULL REFERENCES devices (device_id),
    generation INTEGER NOT NULL,
    sealed BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'restore' CHECK (kind IN ('refresh', 'restore', 'new-backup')),
    parties TEXT CHECK (parties IS NULL OR parties IN ('[1,2]', '[1,2,3]')),
    shares_digest TEXT
  );

  -- A used row keeps its id (so it can never be put back) but loses its sealed state.
  CREATE TABLE presignatures (
    wallet_id TEXT NOT NULL REFERENCES wallets (wallet_id),
    presignature_id TEXT NOT NULL,
    generation INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ready', 'used')),
    sealed_state BYTEA,
    created_at BIGINT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (wallet_id, presignature_id),
    CHECK ((status = 'ready') = (sealed_state IS NOT NULL AND used_at IS NULL))
  );
  CREATE INDEX presignatures_by_status ON presignatures (wallet_id, status);

  CREATE TABLE policies (
    wallet_id TEXT PRIMARY KEY REFERENCES wallets (wallet_id),
    policy TEXT NOT NULL,
    updated_at BIGINT NOT NULL
  );

  CREATE TABLE spends (
    id BIGSERIAL PRIMARY KEY,
    wallet_id TEXT NOT NULL REFERENCES wallets (wallet_id),
    chain_id BIGINT NOT NULL,
    value_wei NUMERIC(78, 0) NOT NULL CHECK (value_wei >= 0),
    at BIGINT NOT NULL
  );
  CREATE INDEX spends_window ON spends (wallet_id, chain_id, at);

  CREATE TABLE rate_limit_events (
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    at BIGINT NOT NULL
  );
  CREATE INDEX rate_limit_window ON rate_limit_events (bucket, key, at);

  -- No foreign keys: a refusal may name a wallet that does not exist. Summaries are TEXT, not
  -- JSONB: the chain hashes their exact canonical text.
  CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    wallet_id TEXT,
    device_id TEXT,
    summary TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
  );
  CREATE INDEX audit_log_by_wallet ON audit_log (wallet_id, seq);
  CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'audit_log is append-only'; END;
  $$;
  CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
  CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

  CREATE TABLE approver_invitations (
    code_digest TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
  );
  CREATE TABLE approvers (
    approver_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    identity_public_key TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('active', 'removed')),
    created_at BIGINT NOT NULL,
    removed_at BIGINT
  );
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
    sealed BYTEA,
    result TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CHECK (sealed IS NULL OR state IN ('pending-approval', 'approved'))
  );
  CREATE INDEX approval_requests_by_wallet ON approval_requests (wallet_id, created_at);
  CREATE INDEX approval_requests_by_state ON approval_requests (state, expires_at);
  CREATE TABLE approval_decisions (
    request_id TEXT NOT NULL REFERENCES approval_requests (request_id),
    approver_id TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('approve', 'reject')),
    decided_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (request_id, approver_id)
  );
  `,
  /* 2: a transaction signed again (a retry after an instance died with its answer in flight) is spent once. */ `
  ALTER TABLE spends ADD COLUMN tx_digest TEXT;
  CREATE UNIQUE INDEX spends_by_digest ON spends (wallet_id, chain_id, tx_digest) WHERE tx_digest IS NOT NULL;
  `,
];

export const PG_SCHEMA_VERSION = PG_MIGRATIONS.length;

/** Brings the schema up to PG_SCHEMA_VERSION in one transaction, under a lock so concurrent starts migrate once. */
export async function migratePostgres(pool: pg.Pool, now: () => number = Date.now): Promise<void> {
  await transaction(pool, async (sql) => {
    await sql.run('SELECT pg_advisory_xact_lock(?)', MIGRATION_LOCK_KEY);
    await sql.run('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
    const current = (await sql.get<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations'))?.v ?? 0;
    if (current > PG_SCHEMA_VERSION) throw new SchemaVersionError(current, PG_SCHEMA_VERSION);
    for (let version = current + 1; version <= PG_SCHEMA_VERSION; version += 1) {
      // Several statements in one simple query: run without parameters, as the migration text has none.
      await sql.client.query(PG_MIGRATIONS[version - 1]!);
      await sql.run('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)', version, now());
    }
  });
}
