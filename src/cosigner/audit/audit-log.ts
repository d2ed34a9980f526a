import type Database from 'better-sqlite3';
import { DEVICE_ID_PATTERN, WALLET_ID_PATTERN } from '../../channel/topics.js';
import { AuditError } from '../store/errors.js';
import { canonicalJson, type JsonValue } from './canonical-json.js';
import { canonicalSummary, chainHash, checkKind, GENESIS_HASH } from './chain.js';
import type { AuditEntry, AuditEntryInput, AuditHead, AuditLogStore, AuditQuery, AuditVerification } from './types.js';

interface AuditRow {
  seq: number;
  at: string;
  kind: string;
  wallet_id: string | null;
  device_id: string | null;
  summary: string;
  prev_hash: string;
  hash: string;
}

const COLUMNS = 'seq, at, kind, wallet_id, device_id, summary, prev_hash, hash';
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;
const MAX_DATE_MS = 8.64e15;

/**
 * The append-only, hash-chained audit log in the co-signer's SQLite database (table audit_log,
 * created by the store's migrations together with triggers that refuse UPDATE and DELETE).
 * The triggers stop mistakes; the hash chain makes an edit by someone with the file visible.
 */
export class SqliteAuditLog implements AuditLogStore {
  readonly #db: Database.Database;
  readonly #now: () => number;
  readonly #last: Database.Statement<[], Pick<AuditRow, 'seq' | 'hash'>>;
  readonly #insert: Database.Statement<[number, string, string, string | null, string | null, string, string, string]>;
  readonly #all: Database.Statement<[], AuditRow>;

  constructor(db: Database.Database, options: { now?: () => number } = {}) {
    this.#db = db;
    this.#now = options.now ?? Date.now;
    this.#last = db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    this.#insert = db.prepare(`INSERT INTO audit_log (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
    this.#all = db.prepare(`SELECT ${COLUMNS} FROM audit_log ORDER BY seq`);
  }

  /** Appends one row. Joins the caller's transaction when there is one, so the row commits with the change it records. */
  append(entry: AuditEntryInput): AuditEntry {
    const kind = checkKind(entry.kind);
    const atMs = entry.at ?? this.#now();
    if (!Number.isSafeInteger(atMs) || atMs < 0 || atMs > MAX_DATE_MS) throw new AuditError('AUDIT_BAD_ENTRY', 'An audit timestamp must be milliseconds since the epoch.');
    const at = new Date(atMs).toISOString();
    const summaryText = canonicalSummary(entry.summary);
    const summary = JSON.parse(summaryText) as { [key: string]: JsonValue };
    const walletId = entry.walletId;
    const deviceId = entry.deviceId;
    if (walletId !== undefined && !WALLET_ID_PATTERN.test(walletId)) throw new AuditError('AUDIT_BAD_ENTRY', 'An audit walletId is 32 lowercase hex characters.');
    if (deviceId !== undefined && !DEVICE_ID_PATTERN.test(deviceId)) throw new AuditError('AUDIT_BAD_ENTRY', 'An audit deviceId is 32 lowercase hex characters.');
    return this.#db
      .transaction(() => {
        const last = this.#last.get();
        const seq = (last?.seq ?? 0) + 1;
        const prevHash = last?.hash ?? GENESIS_HASH;
        const hash = chainHash({ prevHash, seq, at, kind, walletId, deviceId, summary });
        this.#insert.run(seq, at, kind, walletId ?? null, deviceId ?? null, summaryText, prevHash, hash);
        return { seq, at, kind, walletId, deviceId, summary, prevHash, hash };
      })
      .immediate();
  }

  list(query: AuditQuery = {}): AuditEntry[] {
    const limit = Math.min(Math.max(Math.trunc(query.limit ?? DEFAULT_LIMIT), 1), MAX_LIMIT);
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.walletId !== undefined) (where.push('wallet_id = ?'), params.push(query.walletId));
    if (query.deviceId !== undefined) (where.push('device_id = ?'), params.push(query.deviceId));
    if (query.kind !== undefined) (where.push('kind = ?'), params.push(checkKind(query.kind)));
    if (query.afterSeq !== undefined) (where.push('seq > ?'), params.push(query.afterSeq));
    const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const order = query.afterSeq !== undefined ? 'ASC' : 'DESC';
    const rows = this.#db
      .prepare<(string | number)[], AuditRow>(`SELECT ${COLUMNS} FROM audit_log ${filter} ORDER BY seq ${order} LIMIT ?`)
      .all(...params, limit);
    if (order === 'DESC') rows.reverse();
    return rows.map(toEntry);
  }

  head(): AuditHead | undefined {
    const last = this.#last.get();
    return last ? { seq: last.seq, hash: last.hash } : undefined;
  }

  /**
   * Walks the whole chain. Fails at the first row that is missing, was edited, or does not link
   * to its predecessor. With `expectedHead` (a head recorded elsewhere earlier) it also fails when
   * rows after that head were cut off or the head itself was rewritten.
   */
  verify(options: { expectedHead?: AuditHead } = {}): AuditVerification {
    let expectedSeq = 1;
    let prevHash = GENESIS_HASH;
    let anchorSeen = false;
    const anchor = options.expectedHead;
    for (const row of this.#all.iterate()) {
      if (row.seq !== expectedSeq) {
        return { ok: false, brokenAt: expectedSeq, reason: `Row ${expectedSeq} is missing: the row after ${expectedSeq - 1} is ${row.seq}.` };
      }
      if (row.prev_hash !== prevHash) {
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
      const hash = chainHash({
        prevHash: row.prev_hash,
        seq: row.seq,
        at: row.at,
        kind: row.kind,
        walletId: row.wallet_id ?? undefined,
        deviceId: row.device_id ?? undefined,
        summary,
      });
      if (hash !== row.hash) {
        return { ok: false, brokenAt: row.seq, reason: `Row ${row.seq} does not match its hash: it was changed after it was written.` };
      }
      if (anchor && row.seq === anchor.seq) {
        if (row.hash !== anchor.hash) {
          return { ok: false, brokenAt: row.seq, reason: `Row ${row.seq} differs from the head recorded earlier: the chain was rewritten from there or before.` };
        }
        anchorSeen = true;
      }
      prevHash = row.hash;
      expectedSeq += 1;
    }
    if (anchor && !anchorSeen) {
      return { ok: false, brokenAt: expectedSeq, reason: `The log ends at row ${expectedSeq - 1}, before the recorded head ${anchor.seq}: rows were cut off.` };
    }
    const rows = expectedSeq - 1;
    return { ok: true, rows, head: rows === 0 ? undefined : { seq: rows, hash: prevHash } };
  }
}

function toEntry(row: AuditRow): AuditEntry {
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
