import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { masterKeyFromBytes, type MasterKey } from './master-key.js';
import type { SqliteCosignerStore } from './database.js';

/** Shared by this folder's tests only. */

export const newId = (): string => randomBytes(16).toString('hex');

/** Format-valid compressed key; the store checks the format, enrollment checks possession. */
export const newIdentityKey = (): string => `02${randomBytes(32).toString('hex')}`;

export const newMasterKey = (): MasterKey => masterKeyFromBytes(randomBytes(32), 'env');

export const GROUP_PUBLIC_KEY = `0x03${'11'.repeat(32)}`;
export const WALLET_ADDRESS = '0x52908400098527886e0f7030069857d2e4169ee7';

export function tempDir(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'tandem-store-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A fake clock tests can move. */
export function clock(start = Date.UTC(2026, 10, 1, 12, 0, 0)): { now: () => number; advance: (ms: number) => void; set: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => void (time += ms), set: (ms) => void (time = ms) };
}

/** A 2-of-3 wallet with its key (a placeholder share of generation 0) and its one active device. */
export function enrollActiveWallet(store: SqliteCosignerStore): { walletId: string; deviceId: string } {
  const walletId = newId();
  const deviceId = newId();
  store.enroll({ walletId, deviceId, identityPublicKey: newIdentityKey(), threshold: 2, parties: [1, 2, 3] });
  store.activateWallet({ walletId, address: WALLET_ADDRESS as `0x${string}`, publicKey: GROUP_PUBLIC_KEY, share: `share-g0-${walletId}`, generation: 0 });
  return { walletId, deviceId };
}

/** A device enrolled beside the wallet's own, to restore it. */
export function enrollRestoringDevice(store: SqliteCosignerStore, walletId: string) {
  return store.createRestoringDevice({ deviceId: newId(), identityPublicKey: newIdentityKey(), walletId });
}
