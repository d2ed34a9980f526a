/** Opens the co-signer's store: SQLite in the data directory by default, PostgreSQL for a postgres:// URL. */
import { openSqliteStore } from './database.js';
import type { MasterKey } from './master-key.js';
import { databasePath } from './paths.js';
import { openPostgresStore } from './postgres/pg-store.js';
import type { CosignerStore } from './types.js';

export interface OpenStoreOptions {
  /** The data directory: the SQLite file goes there when no `database` URL is given. */
  dataDir: string;
  /** postgres://... or postgresql://...; otherwise SQLite at <dataDir>/cosigner.sqlite. */
  database?: string;
  masterKey: MasterKey;
  now?: () => number;
}

export function isPostgresUrl(value: string | undefined): value is string {
  return value !== undefined && /^postgres(ql)?:\/\//i.test(value);
}

export async function openStore(options: OpenStoreOptions): Promise<CosignerStore> {
  const now = options.now ? { now: options.now } : {};
  if (options.database !== undefined && options.database !== '') {
    if (!isPostgresUrl(options.database)) throw new TypeError('A database is a postgres:// or postgresql:// URL; leave it out to use SQLite in the data directory.');
    return openPostgresStore({ url: options.database, masterKey: options.masterKey, ...now });
  }
  return openSqliteStore({ path: databasePath(options.dataDir), masterKey: options.masterKey, ...now });
}

/** The URL without its password, for banners and logs. */
export function describeDatabase(database: string | undefined, dataDir: string): string {
  if (!isPostgresUrl(database)) return databasePath(dataDir);
  try {
    const url = new URL(database);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}
