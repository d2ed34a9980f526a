/**
 * The hash-chained audit log on PostgreSQL: the same rows, hashes and checks as SqliteAuditLog
 * (../../audit/rows.ts). Appends are serialized by a transaction-scoped advisory lock, so two
 * co-signers on one database never chain two rows onto the same head; the lock is held until the
 * transaction that wrote the row commits or rolls back.
 */
import type pg from 'pg';
import { AUDIT_COLUMNS, chainEntry, ChainWalk, listQuery, prepareEntry, toEntry, type AuditRow } from '../../audit/rows.js';
import type { AuditEntry, AuditEntryInput, AuditHead, AuditLogStore, AuditQuery, AuditVerification } from '../../audit/types.js';
import { AUDIT_LOCK_KEY } from './pg-schema.js';
import { Session, transaction } from './pg-sql.js';

const VERIFY_PAGE = 1000;

export class PgAuditLog implements AuditLogStore {
  readonly #pool: pg.Pool;
  readonly #now: () => number;

  constructor(pool: pg.Pool, options: { now?: () => number } = {}) {
    this.#pool = pool;
    this.#now = options.now ?? Date.now;
  }

  /** Appends one row in its own transaction. */
  async append(entry: AuditEntryInput): Promise<AuditEntry> {
    const prepared = prepareEntry(entry, this.#now);
    return transaction(this.#pool, (sql) => this.#chain(sql, prepared));
  }

  /** Appends one row inside the caller's transaction: it commits with the change it records. */
  async appendIn(sql: Session, entry: AuditEntryInput): Promise<AuditEntry> {
    return this.#chain(sql, prepareEntry(entry, this.#now));
  }

  async #chain(sql: Session, prepared: ReturnType<typeof prepareEntry>): Promise<AuditEntry> {
    await sql.run('SELECT pg_advisory_xact_lock(?)', AUDIT_LOCK_KEY);
    const chained = chainEntry(prepared, await this.#head(sql));
    await sql.run(
      `INSERT INTO audit_log (${AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      chained.seq, chained.at, chained.kind, chained.walletId ?? null, chained.deviceId ?? null, prepared.summaryText, chained.prevHash, chained.hash,
    );
    return chained;
  }

  async list(query: AuditQuery = {}): Promise<AuditEntry[]> {
    const { where, params, descending, limit } = listQuery(query);
    const rows = await new Session(this.#pool).all<AuditRow>(`SELECT ${AUDIT_COLUMNS} FROM audit_log ${where} ORDER BY seq ${descending ? 'DESC' : 'ASC'} LIMIT ?`, ...params, limit);
    if (descending) rows.reverse();
    return rows.map(toEntry);
  }

  head(): Promise<AuditHead | undefined> {
    return this.#head(new Session(this.#pool));
  }

  async #head(sql: Session): Promise<AuditHead | undefined> {
    return sql.get<AuditHead>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
  }

  /** As SqliteAuditLog.verify, reading the chain page by page from one snapshot. */
  async verify(options: { expectedHead?: AuditHead } = {}): Promise<AuditVerification> {
    return transaction(
      this.#pool,
      async (sql) => {
        const walk = new ChainWalk(options.expectedHead);
        for (let after = 0; ; ) {
          const rows = await sql.all<AuditRow>(`SELECT ${AUDIT_COLUMNS} FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?`, after, VERIFY_PAGE);
          for (const row of rows) {
            const failure = walk.next(row);
            if (failure) return failure;
          }
          if (rows.length < VERIFY_PAGE) return walk.finish();
          after = rows.at(-1)!.seq;
        }
      },
      { readOnly: true },
    );
  }
}
