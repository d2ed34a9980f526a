/** The co-signer's persistence: master key, envelope encryption, the SQLite store behind CosignerStore. */
export { openDatabase, openSqliteStore, SqliteCosignerStore, type OpenDatabaseOptions, type SqliteStoreOptions } from './database.js';
export { DATABASE_FILE, databasePath, GENERATED_MASTER_KEY_FILE, generatedMasterKeyPath } from './paths.js';
export {
  loadMasterKey,
  masterKeyFromBytes,
  masterKeyId,
  MASTER_KEY_BYTES,
  MASTER_KEY_ENV,
  type LoadMasterKeyOptions,
  type MasterKey,
  type MasterKeySource,
} from './master-key.js';
export { EnvelopeCipher, type EnvelopeContext } from './envelope.js';
export { MIGRATIONS, SCHEMA_VERSION } from './schema.js';
export * from './errors.js';
export * from './types.js';
export { openStore, isPostgresUrl, describeDatabase, type OpenStoreOptions } from './open-store.js';
export { openPostgresStore, PostgresCosignerStore, type PostgresStoreOptions } from './postgres/pg-store.js';
