import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { SqliteAuditLog } from '../audit/audit-log.js';
import type { AuditLogStore } from '../audit/types.js';
import type { CosignerStore } from '../store/types.js';
import { loadMasterKey } from '../store/master-key.js';
import { databasePath } from '../store/paths.js';
import { stringValue } from './args.js';
import { DATA_DIR_ENV, DEFAULT_DATA_DIR, PROGRAM, type Values } from './command.js';
import { CosignerCliError } from './errors.js';
import type { CliIo } from './io.js';

export function dataDirFrom(values: Values, io: CliIo): string {
  return resolve(stringValue(values['data-dir']) || io.env[DATA_DIR_ENV] || DEFAULT_DATA_DIR);
}

/** The database must already exist: opening the store would create an empty one, and loading a key would generate one. */
function existingDatabase(dataDir: string): string {
  const path = databasePath(dataDir);
  if (!existsSync(path)) {
    throw new CosignerCliError(
      'CLI_NO_DATABASE',
      `No co-signer database in ${dataDir}. Start the co-signer there first (\`${PROGRAM} start\`), or pass --data-dir / $${DATA_DIR_ENV}.`,
    );
  }
  return path;
}

/** The --database URL (PostgreSQL), or undefined for SQLite in the data directory. */
export function databaseFrom(values: Values): string | undefined {
  const database = stringValue(values.database);
  if (database === undefined || database === '') return undefined;
  if (!/^postgres(ql)?:\/\//i.test(database)) throw new CosignerCliError('CLI_BAD_DATABASE', '--database takes a postgres:// or postgresql:// URL; leave it out to use SQLite in the data directory.');
  return database;
}

export async function withStore<T>(values: Values, io: CliIo, work: (store: CosignerStore) => Promise<T> | T): Promise<T> {
  const dataDir = dataDirFrom(values, io);
  const database = databaseFrom(values);
  if (!database) existingDatabase(dataDir);
  const keyFile = stringValue(values['master-key-file']);
  const masterKey = loadMasterKey({ dataDir, ...(keyFile ? { keyFile } : {}), env: io.env });
  const { openStore } = await import('../store/open-store.js');
  const store = await openStore({ dataDir, ...(database ? { database } : {}), masterKey });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/**
 * The audit log alone, read-only, with no master key: SQLite opened with better-sqlite3 itself rather
 * than the store's openDatabase (the store module pulls in viem for policy validation, and a read-only
 * connection needs none of its settings but the timeout); PostgreSQL in read-only transactions.
 */
export async function withReadOnlyAudit<T>(values: Values, io: CliIo, work: (audit: AuditLogStore) => T | Promise<T>): Promise<T> {
  const database = databaseFrom(values);
  if (database) {
    const [{ createPool }, { PgAuditLog }] = await Promise.all([import('../store/postgres/pg-sql.js'), import('../store/postgres/pg-audit.js')]);
    const pool = createPool(database, { max: 1, readOnly: true });
    try {
      return await work(new PgAuditLog(pool));
    } finally {
      await pool.end();
    }
  }
  const db = new Database(existingDatabase(dataDirFrom(values, io)), { readonly: true, fileMustExist: true, timeout: 5000 });
  try {
    return await work(new SqliteAuditLog(db));
  } finally {
    db.close();
  }
}
