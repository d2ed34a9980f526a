/**
 * The wallet's state in the worker: locked or unlocked, the device session while unlocked, the
 * presignature pool, auto-lock and the co-signer's presence. After a worker restart it reopens
 * itself from the key in storage.session, so the user does not unlock again.
 */
import browser from 'webextension-polyfill';
import type { RequestView } from '../channel/approval-protocol.js';
import { DeviceSession, isRevocation } from '../channel/device-session.js';
import { CosignerRefusedError } from '../channel/protocol-conversation.js';
import type { PresenceStatus } from '../channel/presence.js';
import type { TransportState } from '../channel/transport.js';
import { bytesToHex, hexToBytes } from '../mpc/bytes.js';
import type { SignablePayload } from '../mpc/ethereum.js';
import type { CosignerStatus, WalletOverview } from './api.js';
import { WalletError } from './errors.js';
import { postJson } from './post-json.js';
import { sessionGet, sessionRemove, sessionSet } from './session-storage.js';
import { readSettings, writeSettings } from './settings.js';
import { openVault, readSealedVault, unlockVault, type VaultStore } from './vault.js';
import { emergencyBackup, leaveEmergency } from './emergency.js';
import { importKeyShare, type KeyShare } from '../mpc/keyshare.js';
import { signWithLocalShares } from '../mpc/local-shares.js';

/** Presignatures kept ready, so an approval needs one round trip to the co-signer. */
const POOL_TARGET = 2;
/** How long a signature may wait for the co-signer (including while it is offline). */
export const REQUEST_TIMEOUT_MS = 120_000;
export const AUTO_LOCK_ALARM = 'tandem-auto-lock';

interface Unlocked {
  store: VaultStore;
  session: DeviceSession;
}

let unlocked: Promise<Unlocked | undefined> | undefined;
let presenceState: CosignerStatus = 'unknown';
let brokerState: TransportState = 'idle';
let refilling: Promise<void> | undefined;
const lockListeners = new Set<(locked: boolean) => void>();
const openListeners = new Set<(store: VaultStore) => void>();
const requestUpdateListeners = new Set<(request: RequestView) => void>();

export function onLockChange(listener: (locked: boolean) => void): void {
  lockListeners.add(listener);
}

/** Told each time the wallet opens: after an unlock, and when a restarted worker reopens it. */
export function onWalletOpened(listener: (store: VaultStore) => void): void {
  openListeners.add(listener);
}

/** Told of each update the co-signer mails about this wallet's held requests (also those queued while away). */
export function onRequestUpdate(listener: (request: RequestView) => void): void {
  requestUpdateListeners.add(listener);
}

/** Unreachable broker, or a signed "offline" from the co-signer: either way it cannot answer now. */
export function currentCosignerStatus(): CosignerStatus {
  const brokerDown = brokerState === 'reconnecting' || brokerState === 'offline' || brokerState === 'closed';
  return brokerDown ? 'offline' : brokerState === 'online' ? presenceState : 'unknown';
}

/**
 * A vault without an address is not a wallet yet: an onboarding that did not finish (thrown away
 * by the next one), or a restore that did not, which only finishing it may resolve.
 */
export async function walletStatus(): Promise<WalletOverview['status']> {
  const sealed = await readSealedVault();
  if (!sealed?.address) return sealed?.restoring ? 'restoring' : 'uninitialised';
  return (await current()) ? 'unlocked' : 'locked';
}

/** While unlocked, the address from the opened (authenticated) vault; while locked, the stored one, for display. */
export async function walletAddress(): Promise<`0x${string}` | undefined> {
  const opened = await current();
  if (opened) return opened.store.contents.address;
  return (await readSealedVault())?.address;
}

/** The wallet's MPC parties while unlocked ([1, 2] for a 2-of-2 wallet, [1, 2, 3] with a backup). */
export async function walletParties(): Promise<readonly number[] | undefined> {
  return (await current())?.store.contents.parties;
}

/** The unlocked wallet, reopened from storage.session after a worker restart; undefined when locked. */
function current(): Promise<Unlocked | undefined> {
  unlocked ??= restore();
  return unlocked;
}

async function restore(): Promise<Unlocked | undefined> {
  const keyHex = (await sessionGet('vaultKey')) as string | undefined;
  if (!keyHex) return undefined;
  if (await autoLockDue()) {
    await sessionRemove('vaultKey');
    return undefined;
  }
  try {
    return start(await openVault(hexToBytes(keyHex)));
  } catch {
    // A key that no longer opens the vault is useless: locked.
    await sessionRemove('vaultKey');
    return undefined;
  }
}

function start(store: VaultStore): Unlocked {
  const session = new DeviceSession(store, { postJson, requestTimeoutMs: REQUEST_TIMEOUT_MS, onPresence: presenceChanged, onBrokerState: brokerStateChanged, onRequestUpdate: requestUpdated });
  // Connect now: presence is known before the first approval, and the broker's keepalive keeps the worker up.
  session.connect().catch(() => undefined);
  const opened = { store, session };
  void refillPool(opened);
  // After this returns: listeners may ask for the wallet, which is being set to this one.
  queueMicrotask(() => {
    for (const listener of openListeners) listener(store);
  });
  return opened;
}

function requestUpdated(request: RequestView): void {
  for (const listener of requestUpdateListeners) listener(request);
}

function presenceChanged(status: PresenceStatus): void {
  presenceState = status.state === 'online' ? 'online' : status.state === 'unknown' ? 'unknown' : 'offline';
}

function brokerStateChanged(state: TransportState): void {
  brokerState = state;
}

export async function unlock(password: string): Promise<void> {
  const { keyBytes, store } = await unlockVault(password);
  await adopt(keyBytes, store);
}

/** Makes a freshly opened vault the unlocked wallet (after unlock, or onboarding). */
export async function adopt(keyBytes: Uint8Array, store: VaultStore): Promise<void> {
  const previous = await current();
  if (previous) await close(previous);
  await sessionSet({ vaultKey: bytesToHex(keyBytes), lastActivityAt: Date.now() });
  unlocked = Promise.resolve(start(store));
  await scheduleAutoLock();
  for (const listener of lockListeners) listener(false);
}

export async function lock(): Promise<void> {
  leaveEmergency();
  const previous = await current();
  await sessionRemove(['vaultKey', 'lastActivityAt']);
  unlocked = Promise.resolve(undefined);
  presenceState = 'unknown';
  brokerState = 'idle';
  await browser.alarms.clear(AUTO_LOCK_ALARM);
  if (previous) await close(previous);
  for (const listener of lockListeners) listener(true);
}

async function close(opened: Unlocked): Promise<void> {
  await opened.session.close().catch(() => undefined);
  opened.store.wipe();
}

export async function requireSession(): Promise<DeviceSession> {
  const opened = await current();
  if (!opened) throw new WalletError('LOCKED', 'The wallet is locked: unlock it in the Tandem popup.');
  return opened.session;
}

/** This device's share while unlocked. Secret: for emergency mode, which signs with it here. */
export async function deviceShare(): Promise<KeyShare> {
  const opened = await current();
  if (!opened) throw new WalletError('LOCKED', 'The wallet is locked: unlock it in the Tandem popup.');
  const { share } = opened.store.contents;
  if (!share) throw new WalletError('NOT_INITIALISED', 'The wallet has no key yet.');
  return importKeyShare(share);
}

/**
 * Signs jointly with the co-signer, then tops the pool back up while the user is idle. In
 * emergency mode the backup party signs with the device here instead, hashing the payload itself.
 */
export async function signPayload(payload: SignablePayload) {
  const opened = await current();
  if (!opened) throw new WalletError('LOCKED', 'The wallet is locked: unlock it in the Tandem popup.');
  await touch();
  const backup = emergencyBackup();
  if (backup) return { signature: signWithLocalShares(await deviceShare(), backup, payload).signature, payload };
  let signed: Awaited<ReturnType<DeviceSession['sign']>>;
  try {
    signed = await opened.session.sign(payload);
  } catch (error) {
    await noteRevocation(error);
    // Held for approvers: the presignature it took is spent, so the pool is refilled as after a signature.
    if (error instanceof CosignerRefusedError && error.code === 'APPROVAL_PENDING') void refillPool(opened);
    throw error;
  }
  void refillPool(opened);
  return signed;
}

/** The open vault while unlocked (for records sealed under its key, such as the approver's). */
export async function unlockedVault(): Promise<VaultStore | undefined> {
  return (await current())?.store;
}

/** A revocation is for good: remembered, so the popup can say so instead of showing the co-signer as merely away. */
async function noteRevocation(error: unknown): Promise<void> {
  if (isRevocation(error)) await writeSettings({ deviceRevoked: error.shortMessage }).catch(() => undefined);
}

/** Fills the pool now (after keygen). */
export async function topUpPool(): Promise<void> {
  const opened = await current();
  if (opened) await refillPool(opened);
}

function refillPool(opened: Unlocked): Promise<void> {
  // Cleared in a .finally, which always runs after this assignment: a fill with nothing to do
  // finishes synchronously, and clearing it inside would leave the settled promise here for good.
  refilling ??= fillPool(opened).finally(() => {
    refilling = undefined;
  });
  return refilling;
}

async function fillPool(opened: Unlocked): Promise<void> {
  try {
    while (opened.store.contents.share && opened.session.presignatureCount < POOL_TARGET && unlocked && (await unlocked) === opened) await opened.session.presign(1);
  } catch (error) {
    // The co-signer is away or refused: signatures fall back to the full protocol; the next one refills.
    await noteRevocation(error);
  }
}

/** Notes user activity: auto-lock counts from the last one. */
export async function touch(): Promise<void> {
  if (!(await current())) return;
  await sessionSet({ lastActivityAt: Date.now() });
  await scheduleAutoLock();
}

async function scheduleAutoLock(): Promise<void> {
  const { autoLockMinutes } = await readSettings();
  await browser.alarms.create(AUTO_LOCK_ALARM, { when: Date.now() + autoLockMinutes * 60_000 });
}

async function autoLockDue(): Promise<boolean> {
  const last = (await sessionGet('lastActivityAt')) as number | undefined;
  const { autoLockMinutes } = await readSettings();
  return last !== undefined && Date.now() - last >= autoLockMinutes * 60_000;
}

/** The auto-lock alarm fired: lock unless there was activity since it was set. */
export async function autoLockAlarm(): Promise<void> {
  if (await autoLockDue()) await lock();
  else if (await current()) await scheduleAutoLock();
}
