/**
 * What both audit-log backends share: the checked form of an entry before it is chained, the
 * list query, the row mapping and the chain walk of verify().
 */
import { DEVICE_ID_PATTERN, WALLET_ID_PATTERN } from '../../channel/topics.js';
import { AuditError } from '../store/errors.js';
import { canonicalJson, type JsonValue } from './canonical-json.js';
import { canonicalSummary, chainHash, checkKind, GENESIS_HASH } from './chain.js';
import type { AuditEntry, AuditEntryInput, AuditHead, AuditKind, AuditQuery, AuditVerification } from './types.js';

export interface AuditRow {
  seq: number;
  at: string;
  kind: string;
  wallet_id: string | null;
  device_id: string | null;
  summary: string;
  prev_hash: string;
  hash: string;
}

export const AUDIT_COLUMNS = 'seq, at, kind, wallet_id, device_id, summary, prev_hash, hash';
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;
const MAX_DATE_MS = 8.64e15;

/** An entry checked and canonicalised, waiting for its place in the chain. */
export interface PreparedEntry {
  kind: AuditKind;
  at: string;
  walletId: string | undefined;
  deviceId: string | undefined;
  summary: { [key: string]: JsonValue };
  summaryText: string;
}

export function prepareEntry(entry: AuditEntryInput, now: () => number): PreparedEntry {
  const kind = checkKind(entry.kind);
  const atMs = entry.at ?? now();
  if (!Number.isSafeInteger(atMs) || atMs < 0 || atMs > MAX_DATE_MS) throw new AuditError('AUDIT_BAD_ENTRY', 'An audit timestamp must be milliseconds since the epoch.');
  const summaryText = canonicalSummary(entry.summary);
  const { walletId, deviceId } = entry;
  if (walletId !== undefined && !WALLET_ID_PATTERN.test(walletId)) throw new AuditError('AUDIT_BAD_ENTRY', 'An audit walletId is 32 lowercase hex characters.');
  if (deviceId !== undefined && !DEVICE_ID_PATTERN.test(deviceId)) throw new AuditError('AUDIT_BAD_ENTRY', 'An audit deviceId is 32 lowercase hex characters.');
  return { kind, at: new Date(atMs).toISOString(), walletId, deviceId, summary: JSON.parse(summaryText) as { [key: string]: JsonValue }, summaryText };
}

/** Links a prepared entry after `last` (the current head, or none). */
export function chainEntry(prepared: PreparedEntry, last: AuditHead | undefined): AuditEntry {
  const seq = (last?.seq ?? 0) + 1;
  const prevHash = last?.hash ?? GENESIS_HASH;
  const { kind, at, walletId, deviceId, summary } = prepared;
  return { seq, at, kind, walletId, deviceId, summary, prevHash, hash: chainHash({ prevHash, seq, at, kind, walletId, deviceId, summary }) };
}

/** The list query with `?` placeholders; newest rows first unless afterSeq is given (the caller reverses `descending` results). */
export function listQuery(query: AuditQuery): { where: string; params: (string | number)[]; descending: boolean; limit: number } {
  const limit = Math.min(Math.max(Math.trunc(query.limit ?? DEFAULT_LIMIT), 1), MAX_LIMIT);
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (query.walletId !== undefined) (where.push('wallet_id = ?'), params.push(query.walletId));
  if (query.deviceId !== undefined) (where.push('device_id = ?'), params.push(query.deviceId));
  if (query.kind !== undefined) (where.push('kind = ?'), params.push(checkKind(query.kind)));
  if (query.afterSeq !== undefined) (where.push('seq > ?'), params.push(query.afterSeq));
  return { where: where.length ? `WHERE ${where.join(' AND ')}` : '', params, descending: query.afterSeq === undefined, limit };
}

export function toEntry(row: AuditRow): AuditEntry {
  return {
    seq: row.seq,
    at: row.at,
    kind: row.kind as AuditEntry['kind'],
    walletId: row.wallet_id ?? undefined,
    deviceId: row.device_id ?? undefined,
    summary: JSON.parse(row.summary) as AuditEntry['summary'],
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/**
 * Walks the chain row by row (in seq order), as verify() does: feed every row to `next`, which
 * answers a failure at the first row that is missing, was edited, or does not link; then `finish`.
 */
export class ChainWalk {
  #expectedSeq = 1;
  #prevHash = GENESIS_HASH;
  #anchorSeen = false;
  readonly #anchor: AuditHead | undefined;

  constructor(expectedHead?: AuditHead) {
    this.#anchor = expectedHead;
  }

  next(row: AuditRow): AuditVerification | undefined {
    const expectedSeq = this.#expectedSeq;
    if (row.seq !== expectedSeq) {
      return { ok: false, brokenAt: expectedSeq, reason: `Row ${expectedSeq} is missing: the row after ${expectedSeq - 1} is ${row.seq}.` };
    }
    if (row.prev_hash !== this.#prevHash) {
      return { ok: false, brokenAt: row.seq, reason: `Row ${row.seq} does not link to row ${row.seq - 1}: its prevHash differs from that row's hash.` };
    }
    let summary: JsonValue;
    try {
      summary = JSON.parse(row.summary) as JsonValue;
    } catch {
      return { ok: false, brokenAt: row.seq, reason: `Row ${row.seq} has a summary that is not JSON.` };
    }
    if (canonicalJson(summary) !== row.summary) {
      return { ok: false, brokenAt: row.seq, reason: `Row ${row.seq} has a summary that is not in canonical form: it was edited.` };
    }
    const hash = chainHash({ prevHash: row.prev_hash, seq: row.seq, at: row.at, kind: row.kind, walletId: row.wallet_id ?? undefined, deviceId: row.device_id ?? undefined, summary });
    if (hash !== row.hash) {
      return { ok: false, brokenAt: row.seq, reason: `Row ${row.seq} does not match its hash: it was changed after it was written.` };
    }
    if (this.#anchor && row.seq === this.#anchor.seq) {
      if (row.hash !== this.#anchor.hash) {
        return { ok: false, brokenAt: row.seq, reason: `Row ${row.seq} differs from the head recorded earlier: the chain was rewritten from there or before.` };
      }
      this.#anchorSeen = true;
    }
    this.#prevHash = row.hash;
    this.#expectedSeq += 1;
    return undefined;
  }

  finish(): AuditVerification {
    if (this.#anchor && !this.#anchorSeen) {
      return { ok: false, brokenAt: this.#expectedSeq, reason: `The log ends at row ${this.#expectedSeq - 1}, before the recorded head ${this.#anchor.seq}: rows were cut off.` };
    }
    const rows = this.#expectedSeq - 1;
    return { ok: true, rows, head: rows === 0 ? undefined : { seq: rows, hash: this.#prevHash } };
  }
}
