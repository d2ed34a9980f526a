/**
 * The device's secrets at rest: the whole DeviceRecord (identity key, share, presignatures,
 * broker token) sealed with AES-GCM under a key derived from the password, in IndexedDB. Only
 * the wallet id, device id and address are readable without the password.
 */
import type { DeviceRecord, DeviceStore } from '../channel/device-session.js';
import type { DevicePresignature } from '../channel/device-protocol.js';
import { db } from './db.js';
import { WalletError } from './errors.js';
import { deriveKey, newKdfParams, openJson, sealJson, type KdfParams, type SealedBox } from './sealed-box.js';

export interface SealedVault {
  version: 1;
  walletId: string;
  deviceId: string;
  address: `0x${string}` | undefined;
  /** Set while the device restores this address: such a vault may hold shares the co-signer already committed. */
  restoring?: `0x${string}`;
  kdf: KdfParams;
  box: SealedBox;
  createdAt: number;
}

/** Binds the ciphertext to its wallet and KDF parameters: swapping either (a cheaper KDF, say) fails to open. */
function associatedData(vault: Pick<SealedVault, 'walletId' | 'deviceId' | 'kdf' | 'address'>): string {
  return `tandem/vault/v1|${vault.walletId}|${vault.deviceId}|${vault.address ?? ''}|${JSON.stringify(vault.kdf)}`;
}

const wrongPassword = () => new WalletError('WRONG_PASSWORD', 'Wrong password. Check it and try again.');

export async function readSealedVault(): Promise<SealedVault | undefined> {
  return (await db()).get('vault', 'device');
}

/** Seals a freshly enrolled device under a new password. Fails if a vault exists: one wallet per profile. */
export async function createVault(password: string, record: DeviceRecord, kdfCost?: Omit<KdfParams, 'salt'>): Promise<{ keyBytes: Uint8Array; store: VaultStore }> {
  if (await readSealedVault()) throw new WalletError('ALREADY_INITIALISED', 'This browser profile already has a Tandem wallet.');
  const kdf = newKdfParams(kdfCost);
  const keyBytes = await deriveKey(password, kdf);
  const meta = { walletId: record.walletId, deviceId: record.deviceId, kdf, createdAt: Date.now() };
  const store = new VaultStore(keyBytes, meta, record);
  await store.flush();
  return { keyBytes, store };
}

/** Removes a vault whose keygen never finished (no address), so onboarding can start over. */
export async function deleteUnfinishedVault(): Promise<void> {
  const sealed = await readSealedVault();
  if (sealed && !sealed.address && !sealed.restoring) await (await db()).delete('vault', 'device');
}

/** Only once the co-signer refused its device for good: a vault of a restore that can never finish. */
export async function deleteAbandonedRestore(): Promise<void> {
  const sealed = await readSealedVault();
  if (sealed && !sealed.address && sealed.restoring) await (await db()).delete('vault', 'device');
}

/** The key for a password, checked against the vault (AES-GCM authenticates it). */
export async function unlockVault(password: string): Promise<{ keyBytes: Uint8Array; store: VaultStore }> {
  const sealed = await readSealedVault();
  if (!sealed) throw new WalletError('NOT_INITIALISED', 'There is no wallet in this browser yet: create one first.');
  const keyBytes = await deriveKey(password, sealed.kdf);
  return { keyBytes, store: await openVault(keyBytes, sealed) };
}

/** Opens the vault with a key kept from an earlier unlock (after a service-worker restart). */
export async function openVault(keyBytes: Uint8Array, sealed?: SealedVault): Promise<VaultStore> {
  const vault = sealed ?? (await readSealedVault());
  if (!vault) throw new WalletError('NOT_INITIALISED', 'There is no wallet in this browser yet: create one first.');
  const record = await openJson<DeviceRecord>(keyBytes, vault.box, associatedData(vault), wrongPassword);
  return new VaultStore(keyBytes, vault, record);
}

/**
 * The unlocked vault as the DeviceSession's storage. Every change re-seals the record and resolves
 * only when IndexedDB committed it; changes are written one after another, in order.
 */
export class VaultStore implements DeviceStore {
  readonly #keyBytes: Uint8Array;
  readonly #meta: Pick<SealedVault, 'walletId' | 'deviceId' | 'kdf' | 'createdAt'>;
  #record: DeviceRecord;
  #writes: Promise<void> = Promise.resolve();
  #wiped = false;

  constructor(keyBytes: Uint8Array, meta: Pick<SealedVault, 'walletId' | 'deviceId' | 'kdf' | 'createdAt'>, record: DeviceRecord) {
    this.#keyBytes = keyBytes;
    this.#meta = { walletId: meta.walletId, deviceId: meta.deviceId, kdf: meta.kdf, createdAt: meta.createdAt };
    this.#record = record;
  }

  get contents(): Readonly<DeviceRecord> {
    return this.#record;
  }

  update(change: Partial<DeviceRecord>): Promise<void> {
    this.#record = { ...this.#record, ...change };
    return this.flush();
  }

  addPresignature(presignature: DevicePresignature): Promise<void> {
    return this.update({ presignatures: [...this.#record.presignatures, presignature] });
  }

  /** Removes the presignature in memory at once (no second caller can get it) and resolves once that is durable. */
  async takePresignature(): Promise<DevicePresignature | undefined> {
    const [first, ...rest] = this.#record.presignatures;
    if (!first) return undefined;
    await this.update({ presignatures: rest });
    return first;
  }

  /** Seals the record as it is now and writes it. */
  flush(): Promise<void> {
    const snapshot = this.#record;
    const write = this.#writes.then(async () => {
      // After a lock the key is zeros: a late write (a token renewal, a request that lost its race)
      // must fail, never reseal the vault under a key everyone knows.
      if (this.#wiped) throw new WalletError('LOCKED', 'The wallet was locked before this change could be saved.');
      const box = await sealJson(this.#keyBytes, snapshot, associatedData({ ...this.#meta, address: snapshot.address }));
      const sealed: SealedVault = { version: 1, ...this.#meta, address: snapshot.address, ...(snapshot.restoring ? { restoring: snapshot.restoring } : {}), box };
      // strict: the write is on disk when it resolves; a presignature taken out must never come back.
      const tx = (await db()).transaction('vault', 'readwrite', { durability: 'strict' });
      await Promise.all([tx.store.put(sealed, 'device'), tx.done]);
    });
    this.#writes = write.catch(() => undefined);
    return write;
  }

  /**
   * Seals another record under the vault key (the approver identity), bound to this vault and to
   * `label`: it opens only with this password, in this vault, under the same label.
   */
  sealCompanion(label: string, value: unknown): Promise<SealedBox> {
    if (this.#wiped) return Promise.reject(new WalletError('LOCKED', 'The wallet was locked: unlock it first.'));
    return sealJson(this.#keyBytes, value, this.#companionData(label));
  }

  openCompanion<T>(label: string, box: SealedBox): Promise<T> {
    if (this.#wiped) return Promise.reject(new WalletError('LOCKED', 'The wallet was locked: unlock it first.'));
    return openJson<T>(this.#keyBytes, box, this.#companionData(label), () => new WalletError('BAD_SETTING', `The sealed ${label} record does not open with this vault's key (it was altered, or belongs to another wallet).`));
  }

  #companionData(label: string): string {
    return `tandem/vault-companion/v1|${this.#meta.walletId}|${this.#meta.deviceId}|${label}`;
  }

  /** Forgets the key bytes held here (on lock). The session copy is removed by the caller. */
  wipe(): void {
    this.#wiped = true;
    this.#keyBytes.fill(0);
  }
}
