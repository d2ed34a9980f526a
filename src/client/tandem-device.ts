/**
 * A headless Tandem device: one wallet, signed for jointly with the co-signer over MQTT.
 * It enrolls, runs keygen, keeps a small pool of presignatures, and signs EIP-191 messages,
 * EIP-712 typed data and transactions, each hashed on both sides from the payload itself.
 */
import { toAccount } from 'viem/accounts';
import type { LocalAccount, SignableMessage, TransactionSerializable, TypedDataDefinition } from 'viem';
import { Channel } from '../channel/channel.js';
import { BACKUP_PARTY, COSIGNER_PARTY, DEVICE_PARTY } from '../channel/cosigner-protocol.js';
import { keygenWithCosigner, presignWithCosigner, refreshWithCosigner, signNowWithCosigner, signWithCosigner } from '../channel/device-protocol.js';
import {
  CHALLENGE_PATH,
  ENROLL_PATH,
  TOKEN_PATH,
  enrollProofMessage,
  tokenProofMessage,
  type ChallengeResponse,
  type EnrollRequest,
  type EnrollResponse,
  type TokenResponse,
} from '../channel/enrollment.js';
import { ChannelError } from '../channel/errors.js';
import { Identity } from '../channel/identity.js';
import { watchPresence, type PresenceStatus, type PresenceWatch } from '../channel/presence.js';
import { CosignerRefusedError, ProtocolConversation } from '../channel/protocol-conversation.js';
import { inboxTopic } from '../channel/topics.js';
import { MqttTransport } from '../channel/transport.js';
import { bytesToHex } from '../mpc/bytes.js';
import { toViemSignature, type SignablePayload } from '../mpc/ethereum.js';
import { exportKeyShare, importKeyShare, type KeyShare } from '../mpc/keyshare.js';
import type { RecoverableSignature } from '../mpc/ecdsa.js';
import { DeviceFile } from './device-file.js';
import { ClientError } from './errors.js';
import { postJson } from './http.js';

export type WalletKind = '2of2' | '2of3';

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
}

/** How long one conversation with the co-signer is reused for successive requests. */
const CONVERSATION_LIFETIME_MS = 10 * 60_000;

/** Renew the broker token when less than this is left. */
const TOKEN_RENEW_MARGIN_MS = 60_000;

export class TandemDevice {
  readonly #file: DeviceFile;
  readonly #identity: Identity;
  readonly #requestTimeoutMs: number;
  #connection: Promise<{ transport: MqttTransport; channel: Channel; presence: PresenceWatch }> | undefined;
  #current: ProtocolConversation | undefined;
  /** Set when the co-signer's presence changed: it lost its conversations, so the next request opens a new one. */
  #stale: ProtocolConversation | undefined;
  #presence: PresenceStatus = { state: 'unknown', reason: 'none' };
  #requests: Promise<unknown> = Promise.resolve();
  #renewTimer: ReturnType<typeof setTimeout> | undefined;

  private constructor(file: DeviceFile, options: DeviceOptions) {
    this.#file = file;
    this.#identity = Identity.fromSecretKey(file.contents.identitySecret);
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
  }

  /** Enrolls a new identity with the co-signer and writes the wallet file. Keygen comes next (createKey). */
  static async enroll(options: EnrollOptions, deviceOptions: DeviceOptions = {}): Promise<TandemDevice> {
    DeviceFile.assertFree(options.file);
    const identity = Identity.generate();
    const parties = options.kind === '2of3' ? [DEVICE_PARTY, COSIGNER_PARTY, BACKUP_PARTY] : [DEVICE_PARTY, COSIGNER_PARTY];
    const http = { ...(options.caPem ? { caPem: options.caPem } : {}) };
    const { challenge } = await postJson<ChallengeResponse>(options.cosignerUrl, CHALLENGE_PATH, {}, http);
    const request: EnrollRequest = {
      identityPublicKey: identity.publicKeyHex,
      challenge,
      signature: bytesToHex(identity.sign('enroll', enrollProofMessage(challenge, identity.publicKeyHex, parties))),
      parties,
      ...(options.enrollmentCode ? { enrollmentCode: options.enrollmentCode } : {}),
    };
    const enrolled = await postJson<EnrollResponse>(options.cosignerUrl, ENROLL_PATH, request, http);
    if (enrolled.deviceId !== identity.deviceId) throw new ClientError('CLIENT_ENROLL_FAILED', 'The co-signer assigned a device id that does not match this identity key.');
    const file = DeviceFile.create(options.file, {
      version: 1,
      cosignerUrl: options.cosignerUrl,
      brokerUrl: enrolled.brokerUrl,
      ...(options.caPem ? { caPem: options.caPem } : {}),
      ...(enrolled.brokerCaPem ? { brokerCaPem: enrolled.brokerCaPem } : {}),
      cosignerIdentity: enrolled.cosignerIdentity,
      identitySecret: identity.exportSecretKeyHex(),
      deviceId: enrolled.deviceId,
      walletId: enrolled.walletId,
      parties,
      token: enrolled.token,
      tokenExpiresAt: enrolled.tokenExpiresAt,
      presignatures: [],
    });
    identity.destroy();
    return new TandemDevice(file, deviceOptions);
  }

  static open(path: string, options: DeviceOptions = {}): TandemDevice {
    return new TandemDevice(DeviceFile.open(path), options);
  }

  get walletId(): string {
    return this.#file.contents.walletId;
  }

  get deviceId(): string {
    return this.#file.contents.deviceId;
  }

  /** The wallet address; throws until createKey() has run. */
  get address(): `0x${string}` {
    const { address } = this.#file.contents;
    if (!address) throw new ClientError('CLIENT_NO_KEY', 'This wallet has no key yet: run createKey() ("tandem-client create" does).');
    return address;
  }

  /** Whether the co-signer is online, from its signed presence messages (after the first request connected). */
  get cosignerStatus(): PresenceStatus {
    return { ...this.#presence };
  }

  get presignatureCount(): number {
    return this.#file.contents.presignatures.length;
  }

  /**
   * Runs keygen with the co-signer. For a 2-of-3 wallet the backup party runs here for the
   * duration of keygen only: its share is returned (to write to a recovery kit) and never stored.
   */
  async createKey(): Promise<{ address: `0x${string}`; backupShare: string | undefined }> {
    if (this.#file.contents.share) throw new ClientError('CLIENT_USAGE', 'This wallet already has its key.');
    const result = await this.#conversation((link) => keygenWithCosigner(link, { withBackup: this.#file.contents.parties.includes(BACKUP_PARTY) }));
    this.#file.update({ share: exportKeyShare(result.device), address: result.address });
    return { address: result.address, backupShare: result.backup ? exportKeyShare(result.backup) : undefined };
  }

  /**
   * Refreshes the key with the co-signer (same address, new shares and OT material). Unused
   * presignatures are dropped: they belong to the old shares. A 2-of-3 wallet needs its backup
   * share for the duration and returns the backup's new share, which replaces the recovery kit.
   */
  async refresh(options: { backupShare?: string } = {}): Promise<{ backupShare: string | undefined }> {
    const device = this.#share();
    const backup = options.backupShare ? importKeyShare(options.backupShare) : undefined;
    const savePending = async (pending: { device: KeyShare; backup: KeyShare | undefined }) => {
      this.#file.update({ pendingShare: exportKeyShare(pending.device), ...(pending.backup ? { pendingBackupShare: exportKeyShare(pending.backup) } : {}) });
    };
    const result = await this.#conversation((link) => refreshWithCosigner(link, { device, ...(backup ? { backup } : {}) }, savePending));
    this.#file.update({ share: exportKeyShare(result.device), presignatures: [], pendingShare: undefined, pendingBackupShare: undefined });
    return { backupShare: result.backup ? exportKeyShare(result.backup) : undefined };
  }

  /** Adds `count` presignatures to the pool, so later signatures need one round trip. */
  async presign(count = 1): Promise<void> {
    await this.#conversation(async (link) => {
      for (let i = 0; i < count; i++) this.#file.addPresignature(await this.#presign(link));
    });
  }

  /** A signature with no pooled presignature; a pending refresh takes over as in #presign. */
  async #signNow(link: ProtocolConversation, payload: SignablePayload) {
    try {
      return await signNowWithCosigner(link, this.#share(), payload);
    } catch (error) {
      if (!this.#adoptPendingShare(error)) throw error;
      return signNowWithCosigner(link, this.#share(), payload);
    }
  }

  /** After STALE_SHARE naming the generation of the share a lost refresh left pending here, that share takes over. */
  #adoptPendingShare(error: unknown): boolean {
    const { pendingShare } = this.#file.contents;
    if (!(error instanceof CosignerRefusedError && error.code === 'STALE_SHARE') || !pendingShare) return false;
    if (importKeyShare(pendingShare).generation !== Number(error.rule)) return false;
    this.#file.update({ share: pendingShare, pendingShare: undefined, presignatures: [] });
    return true;
  }

  /**
   * Presigns with the current share. If the co-signer holds the generation of a refresh whose
   * confirmation never arrived here, the pending share saved during that refresh takes over.
   */
  async #presign(link: ProtocolConversation) {
    try {
      return await presignWithCosigner(link, this.#share());
    } catch (error) {
      if (!this.#adoptPendingShare(error)) throw error;
      return presignWithCosigner(link, this.#share());
    }
  }

  /** Signs with a pooled presignature, or presigns first in the same conversation. */
  async sign(payload: SignablePayload): Promise<{ signature: RecoverableSignature; payload: SignablePayload }> {
    this.#share(); // no key: CLIENT_NO_KEY before anything is sent
    return this.#conversation(async (link) => {
      // A pooled presignature leaves the file (durably, under its lock) before it is used.
      const markUsed = async () => undefined;
      const pooled = this.#file.takePresignature();
      if (pooled) {
        try {
          const { signature, payload: signed } = await signWithCosigner(link, pooled, payload, markUsed);
          return { signature, payload: signed };
        } catch (error) {
          // The co-signer no longer has that presignature (it restarted, or refreshed): neither has it the
          // rest of the pool, so drop it and presign anew, once.
          if (!(error instanceof CosignerRefusedError && error.code === 'UNKNOWN_PRESIGNATURE')) throw error;
          this.#file.update({ presignatures: [] });
        }
      }
      const { signature, payload: signed } = await this.#signNow(link, payload);
      return { signature, payload: signed };
    });
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

  async close(): Promise<void> {
    await this.#requests;
    const current = this.#current;
    this.#current = undefined;
    if (current && !current.conversation.closed) {
      current.deadline = Date.now() + 2_000;
      await current.send({ type: 'bye' }).catch(() => undefined);
      current.conversation.close();
    }
    clearTimeout(this.#renewTimer);
    const connection = this.#connection;
    this.#connection = undefined;
    if (!connection) return;
    const { transport, channel, presence } = await connection.catch(() => ({ transport: undefined, channel: undefined, presence: undefined }));
    await presence?.stop();
    await channel?.close();
    await transport?.close();
  }

  #share() {
    const { share } = this.#file.contents;
    if (!share) throw new ClientError('CLIENT_NO_KEY', 'This wallet has no key yet: run createKey() first.');
    return importKeyShare(share);
  }

  /**
   * Runs one request on the device's conversation with the co-signer, opened on first use and
   * kept for CONVERSATION_LIFETIME_MS so later requests skip the handshake. Requests run one at a
   * time. A request that misses its deadline ends the conversation and fails with CHANNEL_EXPIRED;
   * what it sent carries the deadline as its expiry, so a co-signer that comes back later refuses it.
   */
  #conversation<T>(work: (link: ProtocolConversation) => Promise<T>): Promise<T> {
    const run = this.#requests.then(async () => {
      const link = await this.#link();
      const deadline = Date.now() + this.#requestTimeoutMs;
      link.deadline = deadline;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new ChannelError('CHANNEL_EXPIRED', 'The co-signer did not answer before the request expired.', { details: `waited ${this.#requestTimeoutMs} ms` })),
          this.#requestTimeoutMs,
        );
      });
      const attempt = work(link);
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
      }
    });
    this.#requests = run.catch(() => undefined);
    return run;
  }

  async #link(): Promise<ProtocolConversation> {
    const current = this.#current;
    const fresh = current && current !== this.#stale && !current.conversation.closed && current.conversation.expiresAt > Date.now() + this.#requestTimeoutMs;
    if (fresh) return current;
    this.#dropLink();
    const { channel } = await this.#connect();
    const contents = this.#file.contents;
    const conversation = await channel.open({
      walletId: contents.walletId,
      peerRole: 'cosigner',
      peerIdentity: contents.cosignerIdentity,
      expiresAt: Date.now() + Math.max(CONVERSATION_LIFETIME_MS, 2 * this.#requestTimeoutMs),
    });
    this.#current = new ProtocolConversation(conversation);
    return this.#current;
  }

  #dropLink(): void {
    const current = this.#current;
    this.#current = undefined;
    if (current && !current.conversation.closed) {
      current.deadline = Date.now() + 2_000;
      void current
        .send({ type: 'bye' })
        .catch(() => undefined)
        .finally(() => current.conversation.close());
    }
  }

  #connect(): Promise<{ transport: MqttTransport; channel: Channel; presence: PresenceWatch }> {
    this.#connection ??= (async () => {
      await this.#renewTokenIfNeeded();
      const contents = this.#file.contents;
      const transport = new MqttTransport({
        url: contents.brokerUrl,
        clientId: `d-${contents.deviceId}`,
        username: contents.deviceId,
        password: contents.token,
        clean: false,
        ...(contents.brokerCaPem || contents.caPem ? { tls: { ca: (contents.brokerCaPem ?? contents.caPem)! } } : {}),
      });
      const channel = await Channel.create({ transport, identity: this.#identity, role: 'device', inboxes: [inboxTopic(contents.walletId, 'device')] });
      const presence = await watchPresence(transport, contents.cosignerIdentity, (status) => {
        this.#presence = status;
        this.#stale = this.#current;
      });
      await transport.connect();
      // A closed transport (refused credentials, close()) is not reused: the next request reconnects.
      transport.onStateChange((state) => {
        if (state === 'closed') this.#forgetConnection(transport);
      });
      this.#scheduleRenewal(transport);
      return { transport, channel, presence };
    })();
    this.#connection.catch(() => {
      this.#connection = undefined;
    });
    return this.#connection;
  }

  #forgetConnection(transport: MqttTransport): void {
    const connection = this.#connection;
    clearTimeout(this.#renewTimer);
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
    clearTimeout(this.#renewTimer);
    const delay = Math.max(1_000, this.#file.contents.tokenExpiresAt - TOKEN_RENEW_MARGIN_MS - Date.now());
    this.#renewTimer = setTimeout(() => {
      this.#renewTokenIfNeeded()
        .then(() => {
          transport.setCredentials(this.#file.contents.deviceId, this.#file.contents.token);
          this.#scheduleRenewal(transport);
        })
        .catch(() => this.#scheduleRenewal(transport));
    }, Math.min(delay, 0x7fff_ffff));
    this.#renewTimer.unref?.();
  }

  async #renewTokenIfNeeded(): Promise<void> {
    const contents = this.#file.contents;
    if (contents.tokenExpiresAt - TOKEN_RENEW_MARGIN_MS > Date.now()) return;
    const http = { ...(contents.caPem ? { caPem: contents.caPem } : {}) };
    const { challenge } = await postJson<ChallengeResponse>(contents.cosignerUrl, CHALLENGE_PATH, {}, http);
    const renewed = await postJson<TokenResponse>(
      contents.cosignerUrl,
      TOKEN_PATH,
      { deviceId: contents.deviceId, challenge, signature: bytesToHex(this.#identity.sign('token', tokenProofMessage(challenge, contents.deviceId))) },
      http,
    );
    this.#file.update({ token: renewed.token, tokenExpiresAt: renewed.tokenExpiresAt });
  }
}
