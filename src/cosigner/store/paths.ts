import { join } from 'node:path';

/** File names inside the co-signer's data directory. */
export const DATABASE_FILE = 'cosigner.sqlite';
export const GENERATED_MASTER_KEY_FILE = 'master.key';

export function databasePath(dataDir: string): string {
  return join(dataDir, DATABASE_FILE);
}

export function generatedMasterKeyPath(dataDir: string): string {
  return join(dataDir, GENERATED_MASTER_KEY_FILE);
}
