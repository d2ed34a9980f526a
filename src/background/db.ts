/**
 * The extension's IndexedDB (through idb): the sealed vault, per-origin permissions and settings;
 * since version 2 also the sealed approver record and this browser's notes on held requests; since
 * version 3 the EIP-5792 call bundles (wallet_sendCalls) and the watched tokens (wallet_watchAsset).
 * Everything here survives a service-worker restart and a browser restart.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { SealedVault } from './vault.js';
import type { SealedBox } from './sealed-box.js';
import type { ChainConfig, WatchedToken } from './api.js';
import type { CallBundleRecord } from './calls/bundle-record.js';

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

/**
 * This browser as an approver for other wallets: the ApproverRecord (its identity secret included)
 * sealed under the vault key, bound to this vault. Only the id, name and co-signer are readable.
 */
export interface SealedApprover {
  version: 1;
  approverId: string;
  name: string;
  cosignerUrl: string;
  enrolledAt: number;
  box: SealedBox;
}

/** What this browser knows of one of its wallet's held requests, beyond what the co-signer says. */
export interface HeldRequestNote {
  requestId: string;
  /** The site that asked, and how. */
  origin?: string;
  method?: string;
  heldAt: number;
  /** This browser sent the signed transaction itself (the co-signer had no RPC for its chain), or failed to. */
  sentHere?: { at: number; transactionHash: `0x${string}` } | { at: number; error: string };
}

interface TandemSchema extends DBSchema {
  vault: { key: 'device'; value: SealedVault };
  permissions: { key: string; value: OriginPermission };
  settings: { key: 'settings'; value: Settings };
  approver: { key: 'approver'; value: SealedApprover };
  heldRequests: { key: string; value: HeldRequestNote };
  /** Keyed by the wallet-side `ref`; looked up by the dapp's [origin, id]. */
  callBundles: { key: string; value: CallBundleRecord; indexes: { byOriginId: [string, string] } };
  /** Keyed by `${chainId}:${lowercase address}`. */
  watchedTokens: { key: string; value: WatchedToken & { key: string; addedAt: number } };
}

const DB_NAME = 'tandem';
const DB_VERSION = 3;
let database: Promise<IDBPDatabase<TandemSchema>> | undefined;

export function db(): Promise<IDBPDatabase<TandemSchema>> {
  database ??= openDB<TandemSchema>(DB_NAME, DB_VERSION, {
    upgrade(upgrading, oldVersion) {
      if (oldVersion < 1) {
        upgrading.createObjectStore('vault');
        upgrading.createObjectStore('permissions', { keyPath: 'origin' });
        upgrading.createObjectStore('settings');
      }
      if (oldVersion < 2) {
        upgrading.createObjectStore('approver');
        upgrading.createObjectStore('heldRequests', { keyPath: 'requestId' });
      }
      if (oldVersion < 3) {
        // New stores only: nothing older is touched, so a version-2 profile keeps its vault and settings.
        const bundles = upgrading.createObjectStore('callBundles', { keyPath: 'ref' });
        bundles.createIndex('byOriginId', ['origin', 'id'], { unique: true });
        upgrading.createObjectStore('watchedTokens', { keyPath: 'key' });
      }
    },
  });
  return database;
}
