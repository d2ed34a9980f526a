/**
 * One device of one wallet, signing jointly with the co-signer: enrollment, keygen, the
 * presignature pool, signatures, refresh, token renewal and the one conversation it keeps open.
 * The headless client and the extension's service worker both run this; each brings its own
 * storage (a 0600 file, an encrypted IndexedDB vault) and its own HTTPS (node:https with a
 * pinned CA, fetch).
 */
import { bytesToHex, hexToBytes } from '../mpc/bytes.js';
import type { RequestView } from './approval-protocol.js';
import { Mailbox } from './mailbox.js';
import { TOKEN_RENEW_MARGIN_MS, TokenRenewal } from './token-renewal.js';
import type { RecoverableSignature } from '../mpc/ecdsa.js';
import type { SignablePayload } from '../mpc/ethereum.js';
import { exportKeyShare, importKeyShare, keyShareAddress, type KeyShare } from '../mpc/keyshare.js';
import { proveSharePossession } from '../mpc/share-proof.js';
import { Channel } from './channel.js';
import { BACKUP_PARTY, COSIGNER_PARTY, DEVICE_PARTY } from './cosigner-protocol.js';
import {
  commitReshare,
  newBackupWithCosigner,
  keygenWithCosigner,
  restoreWithCosigner,
  presignWithCosigner,
  refreshWithCosigner,
  signNowWithCosigner,
  signWithCosigner,
  type DevicePresignature,
} from './device-protocol.js';
import {
  CHALLENGE_PATH,
  ENROLL_PATH,
  brokerFieldsOf,
  type BrokerConnection,
  enrollProofMessage,
  renewBrokerToken,
  type ChallengeResponse,
  restoreEnrollContext,
  type EnrollRequest,
  type EnrollResponse,
} from './enrollment.js';
import { ChannelError } from './errors.js';
import type { FrameCrypto } from './frame-crypto.js';
import { Identity } from './identity.js';
import { watchPresence, type PresenceStatus, type PresenceWatch } from './presence.js';
import { CosignerRefusedError, ProtocolConversation } from './protocol-conversation.js';
import { deviceClientId, inboxTopic } from './topics.js';
import { MqttTransport, type TlsOptions, type TransportState } from './transport.js';

export type WalletKind = '2of2' | '2of3';

/** Everything a device keeps. Fields marked secret must be stored encrypted or owner-only. */
export interface DeviceRecord extends BrokerConnection {
  /** This device's identity secret key (32 bytes hex). Secret. */
  identitySecret: string;
  deviceId: string;
  walletId: string;
  parties: number[];
  token: string;
  tokenExpiresAt: number;
  /** Set once keygen finished. */
  address?: `0x${string}`;
  /** exportKeyShare() of the device share. Secret. */
  share?: string;
  /** Enrolled to restore the wallet at this address from its recovery kit; cleared once restored. */
  restoring?: `0x${string}`;
  /** A refreshed share (and backup share) saved before the co-signer confirmed the refresh. Secret. */
  pendingShare?: string;
  pendingBackupShare?: string;
  /** Unused presignatures. One is removed, durably, before it is used. Secret. */
  presignatures: DevicePresignature[];
}

/**
 * Durable storage for one DeviceRecord. Each write must be on disk when its promise resolves:
 * a presignature taken out must never come back, or its second use would give away the share.
 */
export interface DeviceStore {
  readonly contents: Readonly<DeviceRecord>;
  update(change: Partial<DeviceRecord>): Promise<void>;
  addPresignature(presignature: DevicePresignature): Promise<void>;
  takePresignature(): Promise<DevicePresignature | undefined>;
}

/** POST JSON to the co-signer's HTTPS API; throws a typed error a person can act on. */
export type PostJson = <T>(baseUrl: string, path: string, body: unknown) => Promise<T>;

export interface DeviceSessionOptions {
  postJson: PostJson;
  /** How long one request to the co-signer may take, including waiting for it to come online. Default 60 s. */
  requestTimeoutMs?: number;
  /** Told whenever the co-signer's signed presence changes. */
  onPresence?: (status: PresenceStatus) => void;
  /** Told whenever the connection to the broker changes (a broker that is down hides the co-signer too). */
  onBrokerState?: (state: TransportState) => void;
  /** A request held for approval changed (approved, signed, broadcast, rejected, expired...): the co-signer's mail, also after being away. */
  onRequestUpdate?: (request: RequestView) => void;
  /** The data frames' symmetric primitives (a Node process passes node:crypto's). Default webFrameCrypto. */
  frameCrypto?: FrameCrypto;
  /** See TransportOptions.runHandlersLater (a Node process passes src/node/next-task.ts). */
  runHandlersLater?: (run: () => void) => void;
}

/** How long one conversation with the co-signer is reused for successive requests. */
const CONVERSATION_LIFETIME_MS = 10 * 60_000;

/** A restore held for the operator's approval (RESTORE_NEEDS_APPROVAL) asks again this often... */
export const RESTORE_APPROVAL_POLL_MS = 5_000;
/** ...and gives up (with that refusal) after this long: nothing has changed, the restore can be run again. */
export const RESTORE_APPROVAL_MAX_WAIT_MS = 24 * 60 * 60_000;

/** Whether the co-signer refused this device for good: revoked (by the operator, or a failed restore proof), at the broker or in a conversation. */
export function isRevocation(error: unknown): error is CosignerRefusedError | ChannelError {
  return (error instanceof CosignerRefusedError && (error.code === 'DEVICE_REVOKED' || error.code === 'BACKUP_PROOF_INVALID')) || (error instanceof ChannelError && error.code === 'CHANNEL_DEVICE_REVOKED');
}

export function walletParties(kind: WalletKind): number[] {
  return kind === '2of3' ? [DEVICE_PARTY, COSIGNER_PARTY, BACKUP_PARTY] : [DEVICE_PARTY, COSIGNER_PARTY];
}

/**
 * Enrolls a fresh identity key with the co-signer: proves possession over a single-use challenge
 * and returns the record to store (no key share yet: keygen comes next).
 */
export async function enrollDevice(options: {
  cosignerUrl: string;
  kind: WalletKind;
  postJson: PostJson;
  enrollmentCode?: string;
  caPem?: string;
  /** Enroll into this existing wallet, to restore it from its recovery kit (restore() comes next); the kit's share proves it. */
  restore?: { walletId: string; address: `0x${string}`; backupShare: KeyShare };
}): Promise<DeviceRecord> {
  const identity = Identity.generate();
  try {
    const parties = walletParties(options.kind);
    const { challenge } = await options.postJson<ChallengeResponse>(options.cosignerUrl, CHALLENGE_PATH, {});
    const restore = options.restore && {
      walletId: options.restore.walletId,
      address: options.restore.address,
      generation: options.restore.backupShare.generation,
      backupProof: bytesToHex(proveSharePossession(options.restore.backupShare, restoreEnrollContext(challenge, identity.publicKeyHex, options.restore.walletId))),
    };
    const request: EnrollRequest = {
      identityPublicKey: identity.publicKeyHex,
      challenge,
      signature: bytesToHex(identity.sign('enroll', enrollProofMessage(challenge, identity.publicKeyHex, parties, restore))),
      parties,
      ...(options.enrollmentCode ? { enrollmentCode: options.enrollmentCode } : {}),
      ...(restore ? { restore } : {}),
    };
    const enrolled = await options.postJson<EnrollResponse>(options.cosignerUrl, ENROLL_PATH, request);
    if (enrolled.deviceId !== identity.deviceId) {
      throw new ChannelError('CHANNEL_ENROLL_FAILED', 'The co-signer assigned a device id that does not match this identity key.');
    }
    return {
      ...brokerFieldsOf(options, enrolled),
      identitySecret: identity.exportSecretKeyHex(),
      deviceId: enrolled.deviceId,
      walletId: enrolled.walletId,
      parties,
      token: enrolled.token,
      tokenExpiresAt: enrolled.tokenExpiresAt,
      ...(options.restore ? { restoring: options.restore.address } : {}),
      presignatures: [],
    };
  } finally {
    identity.destroy();
  }
}

export class DeviceSession {
  readonly #store: DeviceStore;
  readonly #identity: Identity;
  readonly #postJson: PostJson;
  readonly #requestTimeoutMs: number;
  readonly #frameCrypto: FrameCrypto | undefined;
  readonly #runHandlersLater: ((run: () => void) => void) | undefined;
  readonly #onPresence: ((status: PresenceStatus) => void) | undefined;
  readonly #onBrokerState: ((state: TransportState) => void) | undefined;
  #connection: Promise<{ transport: MqttTransport; channel: Channel; presence: PresenceWatch; mailbox: Mailbox }> | undefined;
  readonly #onRequestUpdate: ((request: RequestView) => void) | undefined;
  #current: ProtocolConversation | undefined;
  /** Set when the co-signer's presence changed: it lost its conversations, so the next request opens a new one. */
  #stale: ProtocolConversation | undefined;
  /** The co-signer instance the current conversation was opened with, when presence knew it. */
  #currentInstance: string | undefined;
  /** Requests in flight, told when a new co-signer instance came online (see #conversation). */
  readonly #onRestart = new Set<(error: ChannelError) => void>();
  #presence: PresenceStatus = { state: 'unknown', reason: 'none' };
  #requests: Promise<unknown> = Promise.resolve();
  #renewal: TokenRenewal | undefined;
  #closed = false;
  /** Waits (a restore's delay or approval) that close() cuts short. */
  readonly #onClose = new Set<() => void>();
  #parsedShare: { source: string; share: KeyShare } | undefined;
  /** Woken when the co-signer's presence turns online. */
  readonly #onOnline = new Set<() => void>();

  constructor(store: DeviceStore, options: DeviceSessionOptions) {
    this.#store = store;
    this.#identity = Identity.fromSecretKey(store.contents.identitySecret);
    this.#postJson = options.postJson;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
    this.#frameCrypto = options.frameCrypto;
    this.#runHandlersLater = options.runHandlersLater;
    this.#onPresence = options.onPresence;
    this.#onBrokerState = options.onBrokerState;
    this.#onRequestUpdate = options.onRequestUpdate;
  }

  /**
   * This wallet's requests held for approval (and what became of them), newest first, from the
   * co-signer by mail; `pendingForYou` counts those still waiting.
   */
  async requests(options: { limit?: number } = {}): Promise<{ requests: RequestView[]; pendingForYou: number }> {
    const { mailbox } = await this.#connect();
    return mailbox.list(options);
  }

  async request(requestId: string): Promise<RequestView> {
    const { mailbox } = await this.#connect();
    return mailbox.show(requestId);
  }

  get contents(): Readonly<DeviceRecord> {
    return this.#store.contents;
  }

  /** The wallet address; throws until createKey() has run. */
  get address(): `0x${string}` {
    const { address } = this.#store.contents;
    if (!address) throw new ChannelError('CHANNEL_NO_KEY', 'This wallet has no key yet: run keygen first.');
    return address;
  }

  /** Whether the co-signer is online, from its signed presence messages (once connected). */
  get cosignerStatus(): PresenceStatus {
    return { ...this.#presence };
  }

  get presignatureCount(): number {
    return this.#store.contents.presignatures.length;
  }

  /** Connects to the broker now (otherwise the first request does), so presence is known early. */
  async connect(): Promise<void> {
    await this.#connect();
  }

  /**
   * Runs keygen with the co-signer. For a 2-of-3 wallet the backup party runs here for the
   * duration of keygen only: its share is returned (to leave as a recovery kit) and never stored.
   */
  async createKey(): Promise<{ address: `0x${string}`; backupShare: string | undefined }> {
    if (this.#store.contents.share) throw new ChannelError('CHANNEL_INVALID_ARGUMENT', 'This wallet already has its key.');
    const result = await this.#conversation((link) => keygenWithCosigner(link, { withBackup: this.#store.contents.parties.includes(BACKUP_PARTY) }));
    await this.#store.update({ share: exportKeyShare(result.device), address: result.address });
    return { address: result.address, backupShare: result.backup ? exportKeyShare(result.backup) : undefined };
  }

  /**
   * Refreshes the key with the co-signer (same address, new shares and OT material). Unused
   * presignatures are dropped: they belong to the old shares. A 2-of-3 wallet needs its backup
   * share for the duration and returns the backup's new share, which replaces the recovery kit:
   * `saveBackup` must durably keep it before the refresh is committed. A refresh whose commit got
   * no answer is committed by the next call, with the shares it saved.
   */
  async refresh(options: { backupShare?: string; saveBackup?: (newBackupShare: string) => Promise<void> } = {}): Promise<{ backupShare: string | undefined }> {
    const leftover = await this.#commitLeftover(options.saveBackup);
    if (leftover) return { backupShare: leftover.backupShare };
    const device = this.#share();
    const backup = options.backupShare ? importKeyShare(options.backupShare) : undefined;
    const savePending = async (pending: { device: KeyShare; backup: KeyShare | undefined }) => {
      await this.#store.update({ pendingShare: exportKeyShare(pending.device), ...(pending.backup ? { pendingBackupShare: exportKeyShare(pending.backup) } : {}) });
      if (pending.backup) await options.saveBackup?.(exportKeyShare(pending.backup));
    };
    const result = await this.#conversation((link) => refreshWithCosigner(link, { device, ...(backup ? { backup } : {}) }, savePending));
    await this.#adoptCommitted(result.device);
    return { backupShare: result.backup ? exportKeyShare(result.backup) : undefined };
  }

  /**
   * Makes a new backup with the co-signer: new shares for this device and the co-signer, and a
   * new backup share, same address. This is how a 2-of-2 wallet becomes 2-of-3, how a lost kit is
   * replaced, and a refresh that needs no kit. `saveBackup` must durably keep the new backup share
   * (the new kit) before it resolves: only then is the re-sharing committed, which kills the old
   * kit, the old shares and every presignature. A run cut before that changes nothing; one whose
   * commit got no answer is committed by the next call with the shares it saved.
   */
  async newBackup(saveBackup: (newBackupShare: string) => Promise<void>): Promise<{ address: `0x${string}`; backupShare: string }> {
    const leftover = await this.#commitLeftover(saveBackup);
    if (leftover?.backupShare) return { address: keyShareAddress(leftover.device), backupShare: leftover.backupShare };
    const reshared = await this.#conversation((link) =>
      newBackupWithCosigner(link, this.#share(), async (result) => {
        await this.#store.update({ pendingShare: exportKeyShare(result.device), pendingBackupShare: exportKeyShare(result.backup) });
        await saveBackup(exportKeyShare(result.backup));
      }),
    );
    await this.#adoptCommitted(reshared.device);
    return { address: keyShareAddress(reshared.device), backupShare: exportKeyShare(reshared.backup) };
  }

  /**
   * A refresh or new backup whose commit got no answer left its new shares pending here: commit
   * them now (the co-signer answers the same if it already did). Undefined when there is none, or
   * the co-signer has no such re-sharing waiting any more (it never got that far, or a newer one
   * replaced it), in which case the leftovers are dropped and the caller starts afresh.
   */
  async #commitLeftover(saveBackup: ((newBackupShare: string) => Promise<void>) | undefined): Promise<{ device: KeyShare; backupShare: string | undefined } | undefined> {
    const { pendingShare, pendingBackupShare, restoring } = this.#store.contents;
    if (!pendingShare || restoring) return undefined;
    const device = importKeyShare(pendingShare);
    const withBackup = device.parties.includes(BACKUP_PARTY);
    if (device.generation !== this.#share().generation + 1 || (withBackup && !pendingBackupShare)) return undefined;
    try {
      if (withBackup) await saveBackup?.(pendingBackupShare!);
      await this.#conversation((link) => commitReshare(link, device));
    } catch (error) {
      if (!(error instanceof CosignerRefusedError && error.code === 'BAD_REQUEST')) throw error;
      await this.#store.update({ pendingShare: undefined, pendingBackupShare: undefined });
      return undefined;
    }
    await this.#adoptCommitted(device);
    return { device, backupShare: withBackup ? pendingBackupShare : undefined };
  }

  /** The co-signer committed a re-sharing: its share becomes this device's, and the old presignatures are gone. */
  async #adoptCommitted(device: KeyShare): Promise<void> {
    await this.#store.update({ share: exportKeyShare(device), parties: [...device.parties], pendingShare: undefined, pendingBackupShare: undefined, presignatures: [] });
  }

  /**
   * Restores the wallet onto this device (enrolled with `restore`) from the backup share of its
   * recovery kit, with the co-signer. `saveBackup` must durably keep the new backup share (the
   * new kit) before it resolves: only then is the restore committed, which kills the old kit and
   * revokes the old device. Run again after an interruption: a restore whose commit got no
   * answer is committed with the shares saved here; an earlier one starts over. While the co-signer
   * holds the restore back for its restore delay, this waits (telling `onDelay` until when) and asks
   * again: nothing secret has been sent by then, only a first-round nonce and commitment. While the
   * wallet's policy holds it for the operator's approval, this asks again every
   * RESTORE_APPROVAL_POLL_MS (telling `onDelay` the co-signer's reason each time), for at most
   * RESTORE_APPROVAL_MAX_WAIT_MS, then throws that refusal. close() ends either wait (CHANNEL_CLOSED).
   */
  async restore(
    backupShare: string,
    saveBackup: (newBackupShare: string) => Promise<void>,
    onDelay: (readyAt: number, reason: string, code: 'RESTORE_DELAYED' | 'RESTORE_NEEDS_APPROVAL') => void = () => undefined,
  ): Promise<{ address: `0x${string}`; backupShare: string }> {
    const record = this.#store.contents;
    if (!record.restoring) throw new ChannelError('CHANNEL_INVALID_ARGUMENT', record.share ? 'This wallet is already restored.' : 'This device was not enrolled to restore a wallet.');
    const backup = importKeyShare(backupShare);
    if (keyShareAddress(backup).toLowerCase() !== record.restoring.toLowerCase()) {
      throw new ChannelError('CHANNEL_INVALID_ARGUMENT', 'This recovery kit is of another wallet than the one this device enrolled to restore.', { details: `${keyShareAddress(backup)} vs ${record.restoring}` });
    }
    let device: KeyShare;
    let newBackup: string;
    if (record.pendingShare && record.pendingBackupShare) {
      device = importKeyShare(record.pendingShare);
      newBackup = record.pendingBackupShare;
      await saveBackup(newBackup);
      await this.#conversation((link) => commitReshare(link, device));
    } else {
      const attempt = () =>
        this.#conversation((link) =>
          restoreWithCosigner(
            link,
            backup,
            async (result) => {
              await this.#store.update({ pendingShare: exportKeyShare(result.device), pendingBackupShare: exportKeyShare(result.backup) });
              await saveBackup(exportKeyShare(result.backup));
            },
            record.deviceId,
          ),
        );
      let restored: Awaited<ReturnType<typeof attempt>> | undefined;
      let approvalWaitSince: number | undefined;
      while (!restored) {
        try {
          restored = await attempt();
        } catch (error) {
          if (!(error instanceof CosignerRefusedError)) throw error;
          let readyAt: number;
          const code = error.code;
          if (code === 'RESTORE_DELAYED' && error.rule !== undefined) {
            readyAt = Number(error.rule);
          } else if (code === 'RESTORE_NEEDS_APPROVAL') {
            approvalWaitSince ??= Date.now();
            if (Date.now() - approvalWaitSince >= RESTORE_APPROVAL_MAX_WAIT_MS) throw error;
            readyAt = Date.now() + RESTORE_APPROVAL_POLL_MS;
          } else {
            throw error;
          }
          onDelay(readyAt, error.shortMessage, code);
          await this.#wait(Math.max(0, readyAt - Date.now()) + 250);
        }
      }
      device = restored.device;
      newBackup = exportKeyShare(restored.backup);
    }
    const address = keyShareAddress(device);
    await this.#store.update({ share: exportKeyShare(device), address, restoring: undefined, pendingShare: undefined, pendingBackupShare: undefined, presignatures: [] });
    return { address, backupShare: newBackup };
  }

  /** Adds `count` presignatures to the pool, so later signatures need one round trip. */
  async presign(count = 1): Promise<void> {
    await this.#conversation(async (link) => {
      for (let i = 0; i < count; i++) await this.#store.addPresignature(await this.#presign(link));
    });
  }

  /**
   * Signs with a pooled presignature, or presigns first in the same conversation. If the co-signer
   * restarted while the request was in flight (its conversations are gone with it), the signature
   * is made once more on a new conversation with a fresh presignature: the one taken for the first
   * attempt left storage before it was used and is never used again.
   */
  async sign(payload: SignablePayload): Promise<{ signature: RecoverableSignature; payload: SignablePayload }> {
    this.#share(); // no key: CHANNEL_NO_KEY before anything is sent
    try {
      return await this.#signOnce(payload);
    } catch (error) {
      if (!(error instanceof ChannelError && error.code === 'CHANNEL_PEER_RESTARTED')) throw error;
      return this.#conversation((link) => this.#signNow(link, payload));
    }
  }

  #signOnce(payload: SignablePayload): Promise<{ signature: RecoverableSignature; payload: SignablePayload }> {
    return this.#conversation(async (link) => {
      // A pooled presignature leaves storage (durably) before it is used.
      const pooled = await this.#store.takePresignature();
      if (pooled) {
        try {
          return await signWithCosigner(link, pooled, payload, async () => undefined);
        } catch (error) {
          // The co-signer no longer has that presignature (it restarted, or refreshed): neither has it the
          // rest of the pool, so drop it and presign anew, once.
          if (!(error instanceof CosignerRefusedError && error.code === 'UNKNOWN_PRESIGNATURE')) throw error;
          await this.#store.update({ presignatures: [] });
        }
      }
      return this.#signNow(link, payload);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#parsedShare = undefined;
    for (const wake of [...this.#onClose]) wake();
    await this.#requests;
    const current = this.#current;
    this.#current = undefined;
    if (current && !current.conversation.closed) {
      current.deadline = Date.now() + 2_000;
      await current.send({ type: 'bye' }).catch(() => undefined);
      current.conversation.close();
    }
    this.#renewal?.stop();
    const connection = this.#connection;
    this.#connection = undefined;
    if (!connection) return;
    const { transport, channel, presence, mailbox } = await connection.catch(() => ({ transport: undefined, channel: undefined, presence: undefined, mailbox: undefined }));
    await mailbox?.close();
    await presence?.stop();
    await channel?.close();
    await transport?.close();
  }

  /** A signature with no pooled presignature; a pending refresh takes over as in #presign. */
  async #signNow(link: ProtocolConversation, payload: SignablePayload) {
    try {
      return await signNowWithCosigner(link, this.#share(), payload);
    } catch (error) {
      // A request held for approvers is finished later from a stored presignature: make one for it.
      if (error instanceof CosignerRefusedError && error.code === 'APPROVAL_NEEDS_PRESIGNATURE') {
        return signWithCosigner(link, await this.#presign(link), payload, async () => undefined);
      }
      if (!(await this.#adoptPendingShare(error))) throw error;
      return signNowWithCosigner(link, this.#share(), payload);
    }
  }

  /**
   * Presigns with the current share. If the co-signer holds the generation of a refresh whose
   * confirmation never arrived here, the pending share saved during that refresh takes over.
   */
  async #presign(link: ProtocolConversation) {
    try {
      return await presignWithCosigner(link, this.#share());
    } catch (error) {
      if (!(await this.#adoptPendingShare(error))) throw error;
      return presignWithCosigner(link, this.#share());
    }
  }

  /** After STALE_SHARE naming the generation of the share a lost refresh left pending here, that share takes over. */
  async #adoptPendingShare(error: unknown): Promise<boolean> {
    const { pendingShare } = this.#store.contents;
    if (!(error instanceof CosignerRefusedError && error.code === 'STALE_SHARE') || !pendingShare) return false;
    const pending = importKeyShare(pendingShare);
    if (pending.generation !== Number(error.rule)) return false;
    // Its backup share was handed out (saveBackup) before the commit, or is lost with it: either way not kept here.
    await this.#adoptCommitted(pending);
    return true;
  }

  /**
   * The device's key share, parsed once per stored form: parsing its ~25 KB cost 0.4 ms of every
   * signature. The parsed share lives as long as the stored text it came from, which this process
   * holds anyway; nothing mutates a KeyShare.
   */
  #share() {
    const { share } = this.#store.contents;
    if (!share) throw new ChannelError('CHANNEL_NO_KEY', 'This wallet has no key yet: run keygen first.');
    if (this.#parsedShare?.source !== share) this.#parsedShare = { source: share, share: importKeyShare(share) };
    return this.#parsedShare.share;
  }

  /** Sleeps `ms`, or until close() (the next request then fails with CHANNEL_CLOSED), or until `alsoWakeOn` fires. */
  #wait(ms: number, alsoWakeOn?: Set<() => void>): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#onClose.delete(wake);
        alsoWakeOn?.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#onClose.add(wake);
      alsoWakeOn?.add(wake);
    });
  }

  /**
   * Runs one request on the device's conversation with the co-signer, opened on first use and
   * kept for CONVERSATION_LIFETIME_MS so later requests skip the handshake. Requests run one at a
   * time. A request that misses its deadline ends the conversation and fails with CHANNEL_EXPIRED;
   * what it sent carries the deadline as its expiry, so a co-signer that comes back later refuses it.
   */
  #conversation<T>(work: (link: ProtocolConversation) => Promise<T>): Promise<T> {
    const run = this.#requests.then(async () => {
      if (this.#closed) throw new ChannelError('CHANNEL_CLOSED', 'This device session was closed.');
      const deadline = Date.now() + this.#requestTimeoutMs;
      let timer: ReturnType<typeof setTimeout> | undefined;
      let restarted: ((error: ChannelError) => void) | undefined;
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const why = this.#presence.state === 'offline' ? 'The co-signer was offline until the request expired.' : 'The co-signer did not answer before the request expired.';
          reject(new ChannelError('CHANNEL_EXPIRED', why, { details: `waited ${this.#requestTimeoutMs} ms` }));
        }, this.#requestTimeoutMs);
        restarted = reject;
        this.#onRestart.add(reject);
      });
      // Connecting counts against the deadline too: a broker that is down must not hang the request.
      const attempt = this.#link(deadline).then((link) => {
        if (Date.now() >= deadline) throw new ChannelError('CHANNEL_EXPIRED', 'The co-signer did not answer before the request expired.');
        link.deadline = deadline;
        return work(link);
      });
      attempt.catch(() => undefined);
      try {
        return await Promise.race([attempt, expired]);
      } catch (error) {
        // After a failure the conversation's position in the protocol is unknown: start afresh next time.
        this.#dropLink();
        // A wait that ran into the request's deadline is the request expiring, whichever timer fired first.
        if (error instanceof ChannelError && error.code === 'CHANNEL_TIMEOUT' && Date.now() >= deadline - 50) {
          throw new ChannelError('CHANNEL_EXPIRED', 'The co-signer did not answer before the request expired.', { details: `waited ${this.#requestTimeoutMs} ms`, cause: error });
        }
        throw error;
      } finally {
        clearTimeout(timer);
        if (restarted) this.#onRestart.delete(restarted);
      }
    });
    this.#requests = run.catch(() => undefined);
    return run;
  }

  async #link(deadline: number): Promise<ProtocolConversation> {
    const current = this.#current;
    const fresh = current && current !== this.#stale && !current.conversation.closed && current.conversation.expiresAt > Date.now() + this.#requestTimeoutMs;
    if (fresh) return current;
    this.#dropLink();
    const { channel } = await this.#connect();
    await this.#untilCosignerOnline(deadline);
    // The request may have ended while it waited: open nothing for it.
    if (this.#closed) throw new ChannelError('CHANNEL_CLOSED', 'This device session was closed.');
    if (Date.now() >= deadline) throw new ChannelError('CHANNEL_EXPIRED', 'The co-signer was offline until the request expired.');
    const contents = this.#store.contents;
    const conversation = await channel.open({
      walletId: contents.walletId,
      peerRole: 'cosigner',
      peerIdentity: contents.cosignerIdentity,
      expiresAt: Date.now() + Math.max(CONVERSATION_LIFETIME_MS, 2 * this.#requestTimeoutMs),
    });
    this.#current = new ProtocolConversation(conversation);
    this.#currentInstance = this.#presence.state === 'online' ? this.#presence.instanceId : undefined;
    return this.#current;
  }

  /**
   * Resolves once the co-signer is not known to be offline, or at `deadline` (the request then expires).
   * A hello sent while every co-signer is offline can be lost: members of a pool keep no broker
   * session, so nothing holds it for them. A new conversation waits for one to come back instead.
   */
  #untilCosignerOnline(deadline: number): Promise<void> {
    if (this.#presence.state !== 'offline') return Promise.resolve();
    return this.#wait(Math.max(0, deadline - Date.now()), this.#onOnline);
  }

  #dropLink(): void {
    const current = this.#current;
    this.#current = undefined;
    this.#currentInstance = undefined;
    if (current && !current.conversation.closed) {
      current.deadline = Date.now() + 2_000;
      void current
        .send({ type: 'bye' })
        .catch(() => undefined)
        .finally(() => current.conversation.close());
    }
  }

  #connect(): Promise<{ transport: MqttTransport; channel: Channel; presence: PresenceWatch; mailbox: Mailbox }> {
    this.#connection ??= this.#open().catch(async (error: unknown) => {
      if (!(error instanceof ChannelError && error.code === 'CHANNEL_SUBSCRIBE_REFUSED')) throw error;
      // Broker credentials issued before devices had a mailbox do not cover it: renewed ones do. Once.
      await this.#renewTokenIfNeeded({ force: true });
      return this.#open();
    });
    this.#connection.catch(() => {
      this.#connection = undefined;
    });
    return this.#connection;
  }

  async #open(): Promise<{ transport: MqttTransport; channel: Channel; presence: PresenceWatch; mailbox: Mailbox }> {
    await this.#renewTokenIfNeeded();
    const contents = this.#store.contents;
    const trust = contents.brokerCaPem ?? contents.caPem;
    const tls: TlsOptions | undefined = trust ? { ca: trust } : undefined;
    const transport = new MqttTransport({
      url: contents.brokerUrl,
      clientId: deviceClientId(contents.deviceId),
      username: contents.deviceId,
      password: contents.token,
      clean: false,
      reassembleFragments: true,
      ...(tls ? { tls } : {}),
      ...(this.#runHandlersLater ? { runHandlersLater: this.#runHandlersLater } : {}),
    });
    const channel = await Channel.create({
      transport,
      identity: this.#identity,
      role: 'device',
      inboxes: [inboxTopic(contents.walletId, 'device')],
      ...(this.#frameCrypto ? { frameCrypto: this.#frameCrypto } : {}),
    });
    const presence = await watchPresence(transport, contents.cosignerIdentity, (status) => {
      this.#presence = status;
      this.#stale = this.#current;
      // The co-signer instance serving our conversation went offline, and another is online: a new
      // process after a restart, or another member of a pool. The conversation lived in the process
      // that went away (or, for a pool member, in a broker session that did not keep what was sent
      // meanwhile), and a request waiting on it would wait for its whole deadline: sign() runs once
      // more on a new conversation, which an instance online takes. While no instance is online the
      // request waits instead: a broker restart publishes the co-signer's last will although the
      // process, its conversations and its broker session live on, and the same instance comes back.
      const serving = this.#current?.conversation.peerInstance || this.#currentInstance;
      const online = status.onlineInstances ?? [];
      if (serving !== undefined && status.state === 'online' && !online.includes(serving)) {
        const error = new ChannelError('CHANNEL_PEER_RESTARTED', 'The co-signer instance serving this request went offline while it was in flight.', {
          details: `instance ${serving} is gone; online now: ${online.join(', ')}`,
        });
        for (const reject of this.#onRestart) reject(error);
      }
      if (status.state === 'online') for (const wake of [...this.#onOnline]) wake();
      this.#onPresence?.({ ...status });
    });
    const mailbox = await Mailbox.open(transport, this.#identity, hexToBytes(contents.cosignerIdentity));
    mailbox.onUpdate((request) => this.#onRequestUpdate?.(request));
    await transport.connect().catch(async (error: unknown) => {
      await presence.stop().catch(() => undefined);
      await channel.close().catch(() => undefined);
      return this.#explainRefusal(error);
    });
    // A closed transport (refused credentials, close()) is not reused: the next request reconnects.
    transport.onStateChange((state) => {
      this.#onBrokerState?.(state);
      if (state === 'closed') this.#forgetConnection(transport);
    });
    this.#onBrokerState?.(transport.state);
    this.#scheduleRenewal(transport);
    return { transport, channel, presence, mailbox };
  }

  #forgetConnection(transport: MqttTransport): void {
    const connection = this.#connection;
    this.#renewal?.stop();
    this.#current = undefined;
    if (connection) {
      void connection.then(
        (live) => {
          if (live.transport === transport && this.#connection === connection) this.#connection = undefined;
        },
        () => undefined,
      );
    }
  }

  /** Renews the broker token before it expires, so a long-lived device is not dropped by the broker. */
  #scheduleRenewal(transport: MqttTransport): void {
    this.#renewal?.stop();
    this.#renewal = new TokenRenewal(
      () => this.#store.contents.tokenExpiresAt,
      async () => {
        await this.#renewTokenIfNeeded();
        transport.setCredentials(this.#store.contents.deviceId, this.#store.contents.token);
      },
    ).start();
  }

  /**
   * The broker refused an unexpired token: the co-signer's token endpoint says why. A revoked
   * device gets CHANNEL_DEVICE_REVOKED with the co-signer's reason; anything else, the refusal.
   */
  async #explainRefusal(error: unknown): Promise<never> {
    if (!(error instanceof ChannelError && error.code === 'CHANNEL_AUTH_REFUSED')) throw error;
    try {
      await this.#renewTokenIfNeeded({ force: true });
    } catch (renewal) {
      const refused = renewal as { details?: unknown; shortMessage?: unknown };
      if (refused.details === 'DEVICE_REVOKED') {
        throw new ChannelError('CHANNEL_DEVICE_REVOKED', typeof refused.shortMessage === 'string' ? refused.shortMessage : 'The co-signer revoked this device.', { cause: renewal });
      }
    }
    throw error;
  }

  async #renewTokenIfNeeded(options: { force?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    const contents = this.#store.contents;
    if (!options.force && contents.tokenExpiresAt - TOKEN_RENEW_MARGIN_MS > Date.now()) return;
    const renewed = await renewBrokerToken(this.#postJson, contents.cosignerUrl, contents.deviceId, this.#identity);
    if (this.#closed) return;
    await this.#store.update({ token: renewed.token, tokenExpiresAt: renewed.tokenExpiresAt });
  }
}
