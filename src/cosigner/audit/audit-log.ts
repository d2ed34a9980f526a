import type Database from 'better-sqlite3';
import { AUDIT_COLUMNS, chainEntry, ChainWalk, listQuery, prepareEntry, toEntry, type AuditRow } from './rows.js';
import type { AuditEntry, AuditEntryInput, AuditHead, AuditLogStore, AuditQuery, AuditVerification } from './types.js';

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
    this.#insert = db.prepare(`INSERT INTO audit_log (${AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
    this.#all = db.prepare(`SELECT ${AUDIT_COLUMNS} FROM audit_log ORDER BY seq`);
  }

  /** Appends one row. Joins the caller's transaction when there is one, so the row commits with the change it records. */
  append(entry: AuditEntryInput): AuditEntry {
    const prepared = prepareEntry(entry, this.#now);
    return this.#db
      .transaction(() => {
        const chained = chainEntry(prepared, this.#last.get());
        this.#insert.run(chained.seq, chained.at, chained.kind, chained.walletId ?? null, chained.deviceId ?? null, prepared.summaryText, chained.prevHash, chained.hash);
        return chained;
      })
      .immediate();
  }

  list(query: AuditQuery = {}): AuditEntry[] {
    const { where, params, descending, limit } = listQuery(query);
    const rows = this.#db
      .prepare<(string | number)[], AuditRow>(`SELECT ${AUDIT_COLUMNS} FROM audit_log ${where} ORDER BY seq ${descending ? 'DESC' : 'ASC'} LIMIT ?`)
      .all(...params, limit);
    if (descending) rows.reverse();
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
    const walk = new ChainWalk(options.expectedHead);
    for (const row of this.#all.iterate()) {
      const failure = walk.next(row);
      if (failure) return failure;
    }
    return walk.finish();
  }
}
