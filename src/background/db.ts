/**
 * The extension's IndexedDB (through idb): the sealed vault, per-origin permissions and settings.
 * Everything here survives a service-worker restart and a browser restart.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { SealedVault } from './vault.js';
import type { ChainConfig } from './api.js';

export interface OriginPermission {
  origin: string;
  /** The accounts this origin may see (the wallet has one). */
  accounts: `0x${string}`[];
  grantedAt: number;
}

export interface Settings {
  cosignerUrl: string;
  chains: ChainConfig[];
  currentChainId: number;
  autoLockMinutes: number;
  /** True from keygen until the recovery kit was saved. */
  recoveryKitPending?: boolean;
  /** Set once the co-signer said this device is revoked (its reason): it never signs again. */
  deviceRevoked?: string;
}

interface TandemSchema extends DBSchema {
  vault: { key: 'device'; value: SealedVault };
  permissions: { key: string; value: OriginPermission };
  settings: { key: 'settings'; value: Settings };
}

const DB_NAME = 'tandem';
let database: Promise<IDBPDatabase<TandemSchema>> | undefined;

export function db(): Promise<IDBPDatabase<TandemSchema>> {
  database ??= openDB<TandemSchema>(DB_NAME, 1, {
    upgrade(upgrading) {
      upgrading.createObjectStore('vault');
      upgrading.createObjectStore('permissions', { keyPath: 'origin' });
      upgrading.createObjectStore('settings');
    },
  });
  return database;
}
