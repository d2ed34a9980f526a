import type { JsonValue } from './canonical-json.js';

/** What happened. Stable strings: operators filter on them. */
export const AUDIT_KINDS = ['enroll', 'keygen', 'presign', 'sign', 'refuse', 'abort', 'policy', 'refresh', 'lock', 'admin', 'restore', 'revoke', 'approve', 'hold', 'decision'] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];

/** Values a summary may hold before it is canonicalised; bigints become decimal strings. */
export type AuditSummaryValue = JsonValue | bigint | undefined | readonly AuditSummaryValue[] | { readonly [key: string]: AuditSummaryValue };
export type AuditSummaryInput = { readonly [key: string]: AuditSummaryValue };

export interface AuditEntryInput {
  kind: AuditKind;
  walletId?: string;
  deviceId?: string;
  /** What a person needs to understand the event. Never secrets: shares, presignature states, keys, tokens. */
  summary?: AuditSummaryInput;
  /** Milliseconds since the epoch; defaults to the log's clock. */
  at?: number;
}

export interface AuditEntry {
  seq: number;
  /** ISO 8601 with milliseconds, UTC. */
  at: string;
  kind: AuditKind;
  walletId: string | undefined;
  deviceId: string | undefined;
  summary: { [key: string]: JsonValue };
  /** Hash of the previous row; 64 zeros for the first row. */
  prevHash: string;
  /** sha256 hex of canonicalJson(['tandem/audit/v1', prevHash, seq, at, kind, walletId ?? null, deviceId ?? null, summary]). */
  hash: string;
}

/** The newest row: keep a copy somewhere else, and verify({ expectedHead }) also catches a cut-off tail. */
export interface AuditHead {
  seq: number;
  hash: string;
}

export type AuditVerification =
  | { ok: true; rows: number; head: AuditHead | undefined }
  | { ok: false; brokenAt: number; reason: string };

export interface AuditQuery {
  walletId?: string;
  deviceId?: string;
  kind?: AuditKind;
  /** Only rows after this seq, oldest first; without it, the newest `limit` rows, oldest first. */
  afterSeq?: number;
  /** Default 100, at most 10,000. */
  limit?: number;
}

export type MaybePromise<T> = T | Promise<T>;

/** The audit log behind a backend-neutral interface: await every call (SQLite answers synchronously). */
export interface AuditLogStore {
  append(entry: AuditEntryInput): MaybePromise<AuditEntry>;
  list(query?: AuditQuery): MaybePromise<AuditEntry[]>;
  verify(options?: { expectedHead?: AuditHead }): MaybePromise<AuditVerification>;
  head(): MaybePromise<AuditHead | undefined>;
}
