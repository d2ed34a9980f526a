/**
 * A headless Tandem device: one wallet in a 0600 file, signed for jointly with the co-signer over
 * MQTT. The protocol work is DeviceSession's (shared with the extension); this adds the file,
 * node:https with a pinned CA, and a viem LocalAccount.
 */
import { toAccount } from 'viem/accounts';
import type { LocalAccount, SignableMessage, TransactionSerializable, TypedDataDefinition } from 'viem';
import { DeviceSession, enrollDevice, type DeviceStore, type PostJson, type WalletKind } from '../channel/device-session.js';
import type { PresenceStatus } from '../channel/presence.js';
import type { RecoverableSignature } from '../mpc/ecdsa.js';
import { toViemSignature, type SignablePayload } from '../mpc/ethereum.js';
import { importKeyShare, type KeyShare } from '../mpc/keyshare.js';
import { DeviceFile } from './device-file.js';
import { ClientError } from './errors.js';
import { postJson } from './http.js';
import { nodeFrameCrypto } from '../node/frame-crypto.js';
import { nextTask } from '../node/next-task.js';
import type { RequestView } from '../channel/approval-protocol.js';

export type { WalletKind } from '../channel/device-session.js';

export interface EnrollOptions {
  /** https://host:port of the co-signer. */
  cosignerUrl: string;
  /** PEM to trust for the co-signer's TLS (its self-signed certificate on a local stack). */
  caPem?: string;
  /** Where to keep the wallet (created 0600; must not exist). */
  file: string;
  kind: WalletKind;
  enrollmentCode?: string;
}

export interface DeviceOptions {
  /** How long one request to the co-signer may take, including waiting for it to come online. Default 60 s. */
  requestTimeoutMs?: number;
  /** A request held for approval changed; the co-signer's letters that waited while this device was away arrive here too. */
  onRequestUpdate?: (request: RequestView) => void;
}

function httpsWithTrust(caPem: string | undefined): PostJson {
  return (baseUrl, path, body) => postJson(baseUrl, path, body, caPem ? { caPem } : {});
}

/** The wallet file as a DeviceStore: every write is fsynced before it resolves. */
function fileStore(file: DeviceFile): DeviceStore {
  return {
    get contents() {
      return file.contents;
    },
    update: async (change) => file.update(change),
    addPresignature: async (presignature) => file.addPresignature(presignature),
    takePresignature: async () => file.takePresignature(),
  };
}

export class TandemDevice {
  readonly #session: DeviceSession;

  private constructor(file: DeviceFile, options: DeviceOptions) {
    this.#session = new DeviceSession(fileStore(file), {
      postJson: httpsWithTrust(file.contents.caPem),
      frameCrypto: nodeFrameCrypto,
      runHandlersLater: nextTask,
      ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
      ...(options.onRequestUpdate ? { onRequestUpdate: options.onRequestUpdate } : {}),
    });
  }

  /** Enrolls a new identity with the co-signer and writes the wallet file. Keygen comes next (createKey). */
  static async enroll(options: EnrollOptions, deviceOptions: DeviceOptions = {}): Promise<TandemDevice> {
    DeviceFile.assertFree(options.file);
    const record = await enrollDevice({
      cosignerUrl: options.cosignerUrl,
      kind: options.kind,
      postJson: httpsWithTrust(options.caPem),
      ...(options.enrollmentCode ? { enrollmentCode: options.enrollmentCode } : {}),
      ...(options.caPem ? { caPem: options.caPem } : {}),
    });
    return new TandemDevice(DeviceFile.create(options.file, { version: 1, ...record }), deviceOptions);
  }

  /**
   * Enrolls a new identity into the wallet of a backup share, to restore it there (restore()
   * comes next). The co-signer runs the restore only after its restore delay.
   */
  static async enrollForRestore(options: Omit<EnrollOptions, 'kind'> & { walletId: string; address: `0x${string}`; backupShare: string }, deviceOptions: DeviceOptions = {}): Promise<TandemDevice> {
    DeviceFile.assertFree(options.file);
    const record = await enrollDevice({
      cosignerUrl: options.cosignerUrl,
      kind: '2of3',
      postJson: httpsWithTrust(options.caPem),
      restore: { walletId: options.walletId, address: options.address, backupShare: importKeyShare(options.backupShare) },
      ...(options.enrollmentCode ? { enrollmentCode: options.enrollmentCode } : {}),
      ...(options.caPem ? { caPem: options.caPem } : {}),
    });
    return new TandemDevice(DeviceFile.create(options.file, { version: 1, ...record }), deviceOptions);
  }

  static open(path: string, options: DeviceOptions = {}): TandemDevice {
    return new TandemDevice(DeviceFile.open(path), options);
  }

  get walletId(): string {
    return this.#session.contents.walletId;
  }

  get deviceId(): string {
    return this.#session.contents.deviceId;
  }

  /** The wallet address; throws until createKey() has run. */
  get address(): `0x${string}` {
    const { address } = this.#session.contents;
    if (!address) throw new ClientError('CLIENT_NO_KEY', 'This wallet has no key yet: run createKey() ("tandem-client create" does).');
    return address;
  }

  /** Whether the co-signer is online, from its signed presence messages (after the first request connected). */
  get cosignerStatus(): PresenceStatus {
    return this.#session.cosignerStatus;
  }

  get presignatureCount(): number {
    return this.#session.presignatureCount;
  }

  /**
   * Runs keygen with the co-signer. For a 2-of-3 wallet the backup party runs here for the
   * duration of keygen only: its share is returned (to write to a recovery kit) and never stored.
   */
  createKey(): Promise<{ address: `0x${string}`; backupShare: string | undefined }> {
    return this.#session.createKey();
  }

  /**
   * Refreshes the key with the co-signer; a 2-of-3 wallet passes its backup share and gets the new
   * one, which `saveBackup` must durably keep before the refresh is committed.
   */
  refresh(options: { backupShare?: string; saveBackup?: (newBackupShare: string) => Promise<void> } = {}): Promise<{ backupShare: string | undefined }> {
    return this.#session.refresh(options);
  }

  /**
   * Makes a new backup share with the co-signer (same address; the old shares, the old backup and
   * every presignature die): upgrades a 2-of-2 wallet to 2-of-3, or replaces a lost backup.
   * `saveBackup` must durably keep the new backup share before it resolves.
   */
  newBackup(saveBackup: (newBackupShare: string) => Promise<void>): Promise<{ address: `0x${string}`; backupShare: string }> {
    return this.#session.newBackup(saveBackup);
  }

  get isTwoOfThree(): boolean {
    return this.#session.contents.parties.length === 3;
  }

  /** The address this device enrolled to restore, while it has no share yet. */
  get restoring(): `0x${string}` | undefined {
    return this.#session.contents.restoring;
  }

  /** Restores the wallet here from the backup share; `saveBackup` keeps the new one before the restore is committed. */
  restore(
    backupShare: string,
    saveBackup: (newBackupShare: string) => Promise<void>,
    onDelay?: (readyAt: number, reason: string, code: 'RESTORE_DELAYED' | 'RESTORE_NEEDS_APPROVAL') => void,
  ): Promise<{ address: `0x${string}`; backupShare: string }> {
    return this.#session.restore(backupShare, saveBackup, onDelay);
  }

  /** This device's share, for signing with the backup share when the co-signer is gone. Secret. */
  deviceShare(): KeyShare {
    const { share } = this.#session.contents;
    if (!share) throw new ClientError('CLIENT_NO_KEY', 'This wallet has no key yet: there is nothing to sign with.');
    return importKeyShare(share);
  }

  /** Adds `count` presignatures to the pool, so later signatures need one round trip. */
  presign(count = 1): Promise<void> {
    return this.#session.presign(count);
  }

  /** Signs with a pooled presignature, or presigns first in the same conversation. */
  sign(payload: SignablePayload): Promise<{ signature: RecoverableSignature; payload: SignablePayload }> {
    return this.#session.sign(payload);
  }
  async signMessage(message: SignableMessage): Promise<`0x${string}`> {
    const { signature, payload } = await this.sign({ kind: 'message', message });
    return toViemSignature(payload, signature);
  }

  async signTypedData(typedData: TypedDataDefinition): Promise<`0x${string}`> {
    const { signature, payload } = await this.sign({ kind: 'typedData', typedData });
    return toViemSignature(payload, signature);
  }

  async signTransaction(transaction: TransactionSerializable): Promise<`0x${string}`> {
    const { signature, payload } = await this.sign({ kind: 'transaction', transaction });
    return toViemSignature(payload, signature);
  }

  /** A viem LocalAccount whose every signature is made jointly with the co-signer. */
  account(): LocalAccount {
    return toAccount({
      address: this.address,
      signMessage: ({ message }) => this.signMessage(message),
      signTypedData: (typedData) => this.signTypedData(typedData as TypedDataDefinition),
      signTransaction: (transaction, options) => {
        if (options?.serializer) throw new ClientError('CLIENT_USAGE', 'Custom transaction serializers are not supported: the co-signer must parse what it signs.');
        return this.signTransaction(transaction as TransactionSerializable);
      },
    });
  }

  /** Connects to the broker now: presence, and letters that waited for this device, arrive. */
  connect(): Promise<void> {
    return this.#session.connect();
  }

  /** This wallet's requests held for approval and what became of them, newest first. */
  requests(options: { limit?: number } = {}): Promise<{ requests: RequestView[]; pendingForYou: number }> {
    return this.#session.requests(options);
  }

  request(requestId: string): Promise<RequestView> {
    return this.#session.request(requestId);
  }

  close(): Promise<void> {
    return this.#session.close();
  }
}
