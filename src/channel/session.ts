/**
 * A two-party encrypted session between two pinned identity keys. Pure: no I/O, no timers.
 *
 * Handshake (two frames, both signed by identity keys):
 *   hello   initiator -> responder: wallet, session id, roles, identity key, ephemeral key, expiry,
 *           ECDSA signature over the hello bytes.
 *   accept  responder -> initiator: identity key, ephemeral key, optional instance, signature over
 *           SHA-256(hello) || accept bytes.
 *   keys    HKDF-SHA256(ikm = ECDH(eph, eph) || ECDH(static, static),
 *                       salt = H(wallet, session), info = 'tandem/channel/v1/keys' || H(hello, accept))
 *           -> AES-256-GCM key and nonce key for each direction. Ephemeral secrets are zeroed.
 * Data frames: AES-256-GCM with the frame header (version, type, wallet, session, sender role, round,
 * seq, expiry, nonce, length) as additional data. The 96-bit nonce is derived from the sequence number
 * (HMAC of seq, round, expiry and body under the direction's nonce key), so a sender restored from an
 * older export that re-sends a different message under the same seq still never reuses a GCM nonce.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, equalBytes, hexToBytes, randomBytes, u32be } from '../mpc/bytes.js';
import { taggedHash } from '../mpc/hash.js';
import { ChannelError, badFrame, invalidArgument, type ChannelErrorCode } from './errors.js';
import { webFrameCrypto, type FrameCrypto } from './frame-crypto.js';
import {
  MAX_BODY_BYTES,
  NONCE_BYTES,
  SESSION_ID_BYTES,
  decodeFrame,
  encodeAccept,
  encodeDataHeader,
  encodeHello,
  signedPart,
  type AcceptFrame,
  type DataFrame,
  type Frame,
  type HelloFrame,
} from './frame.js';
import { Identity, generateKeyPair, parsePublicKey, sharedSecret, verifyIdentitySignature } from './identity.js';
import { INSTANCE_ID_PATTERN, WALLET_ID_PATTERN, type ChannelRole } from './topics.js';

export type HandshakeRole = 'initiator' | 'responder';
export type SessionPhase = 'awaiting-accept' | 'established' | 'dead';

export type ReceiveResult =
  | { kind: 'established' }
  | { kind: 'message'; round: number; seq: number; body: Uint8Array }
  | { kind: 'duplicate' };

/** How many accepted frames per session are remembered to tell a QoS 1 redelivery from a replay. */
const RECEIVE_WINDOW = 1024;
const MAX_SEQ = 0xffff_ffff;
/** Default upper bound on how far in the future a hello may expire. */
export const DEFAULT_MAX_LIFETIME_MS = 24 * 60 * 60 * 1000;

interface DirectionKeys {
  encryption: Uint8Array;
  nonce: Uint8Array;
}

/** The complete state of a session as JSON-safe data. It holds session keys: store it only encrypted. */
export interface SessionState {
  version: 1;
  handshakeRole: HandshakeRole;
  phase: SessionPhase;
  walletId: string;
  sessionId: string;
  localRole: ChannelRole;
  peerRole: ChannelRole;
  localIdentity: string;
  peerIdentity: string;
  expiresAt: number;
  hello: string;
  accept: string | null;
  /** Only while an initiator waits for the accept. */
  ephemeralSecret: string | null;
  keys: { send: string; sendNonce: string; receive: string; receiveNonce: string } | null;
  nextSendSeq: number;
  nextReceiveSeq: number;
  /** Truncated SHA-256 of accepted data frames, for seqs receivedBase .. nextReceiveSeq - 1. */
  receivedBase: number;
  received: string[];
  error: { code: ChannelErrorCode; message: string } | null;
}

export interface InitiateOptions {
  identity: Identity;
  /** The responder's identity key, pinned at enrollment. */
  peerIdentity: Uint8Array;
  walletId: string;
  localRole: ChannelRole;
  peerRole: ChannelRole;
  /** Unix ms after which neither side accepts anything of this session. */
  expiresAt: number;
  now?: () => number;
  /** Default webFrameCrypto. */
  frameCrypto?: FrameCrypto;
}

export interface RespondOptions {
  identity: Identity;
  /** The identity key pinned for this wallet and the hello's sender role. */
  peerIdentity: Uint8Array;
  hello: HelloFrame | Uint8Array;
  localRole: ChannelRole;
  now?: () => number;
  /** Default webFrameCrypto. */
  frameCrypto?: FrameCrypto;
  maxLifetimeMs?: number;
  /** Instance inbox the initiator should send to for the rest of the session ('' = role inbox). */
  instance?: string;
}

const encoder = new TextEncoder();

/** Native SHA-256 (frames run to ~60 KB, several times the cost in JavaScript), truncated. */
async function frameDigest(crypto: FrameCrypto, bytes: Uint8Array): Promise<string> {
  return bytesToHex((await crypto.sha256(bytes)).subarray(0, 16));
}

function u64be(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}

function deriveKeys(args: {
  ephemeralShared: Uint8Array;
  staticShared: Uint8Array;
  walletId: string;
  sessionId: string;
  hello: Uint8Array;
  accept: Uint8Array;
}): { initiatorToResponder: DirectionKeys; responderToInitiator: DirectionKeys } {
  const salt = taggedHash('tandem/channel/v1/session-salt', hexToBytes(args.walletId), hexToBytes(args.sessionId));
  const transcript = taggedHash('tandem/channel/v1/transcript', args.hello, args.accept);
  const info = concatBytes(encoder.encode('tandem/channel/v1/keys'), transcript);
  const ikm = concatBytes(args.ephemeralShared, args.staticShared);
  const okm = hkdf(sha256, ikm, salt, info, 128);
  const keys = {
    initiatorToResponder: { encryption: okm.slice(0, 32), nonce: okm.slice(32, 64) },
    responderToInitiator: { encryption: okm.slice(64, 96), nonce: okm.slice(96, 128) },
  };
  ikm.fill(0);
  okm.fill(0);
  args.ephemeralShared.fill(0);
  return keys;
}

/** HMAC-SHA256 of the message under the direction's nonce key, natively as bodies are large. */
async function dataNonce(crypto: FrameCrypto, keys: DirectionKeys, seq: number, round: number, expiresAt: number, body: Uint8Array): Promise<Uint8Array> {
  const mac = await crypto.hmacSha256(keys.nonce, [u32be(seq), u32be(round), u64be(expiresAt), body]);
  return mac.slice(0, NONCE_BYTES);
}

function checkRoles(localRole: ChannelRole, peerRole: ChannelRole): void {
  if (localRole === peerRole) throw invalidArgument('A session joins two different roles.', `both are ${localRole}`);
}

export class ChannelSession {
  readonly handshakeRole: HandshakeRole;
  readonly walletId: string;
  readonly sessionId: string;
  readonly localRole: ChannelRole;
  readonly peerRole: ChannelRole;
  readonly peerIdentity: Uint8Array;
  readonly expiresAt: number;

  readonly #identity: Identity;
  readonly #now: () => number;
  readonly #crypto: FrameCrypto;
  readonly #hello: Uint8Array;
  #phase: SessionPhase;
  #accept: Uint8Array | undefined;
  #ephemeralSecret: Uint8Array | undefined;
  #send: DirectionKeys | undefined;
  #receive: DirectionKeys | undefined;
  #nextSendSeq = 0;
  #nextReceiveSeq = 0;
  #receivedBase = 0;
  #received: string[] = [];
  #peerInstance = '';
  #error: ChannelError | undefined;
  #lock: Promise<unknown> = Promise.resolve();

  private constructor(args: {
    identity: Identity;
    now: () => number;
    frameCrypto: FrameCrypto | undefined;
    handshakeRole: HandshakeRole;
    walletId: string;
    sessionId: string;
    localRole: ChannelRole;
    peerRole: ChannelRole;
    peerIdentity: Uint8Array;
    expiresAt: number;
    hello: Uint8Array;
    phase: SessionPhase;
  }) {
    this.#identity = args.identity;
    this.#now = args.now;
    this.#crypto = args.frameCrypto ?? webFrameCrypto;
    this.handshakeRole = args.handshakeRole;
    this.walletId = args.walletId;
    this.sessionId = args.sessionId;
    this.localRole = args.localRole;
    this.peerRole = args.peerRole;
    this.peerIdentity = args.peerIdentity;
    this.expiresAt = args.expiresAt;
    this.#hello = args.hello;
    this.#phase = args.phase;
  }

  /** Starts a session: returns it (waiting for the accept) and the hello frame to send. */
  static initiate(options: InitiateOptions): { session: ChannelSession; hello: Uint8Array } {
    const now = options.now ?? Date.now;
    if (!WALLET_ID_PATTERN.test(options.walletId)) throw invalidArgument('Not a wallet id.', JSON.stringify(options.walletId));
    checkRoles(options.localRole, options.peerRole);
    if (!Number.isSafeInteger(options.expiresAt) || options.expiresAt <= now()) {
      throw invalidArgument('A session must expire in the future.', `expiresAt ${options.expiresAt}, now ${now()}`);
    }
    const peerIdentity = parsePublicKey(options.peerIdentity);
    const sessionId = bytesToHex(randomBytes(SESSION_ID_BYTES));
    const ephemeral = generateKeyPair();
    const hello = encodeHello(
      {
        walletId: options.walletId,
        sessionId,
        fromRole: options.localRole,
        toRole: options.peerRole,
        identityKey: options.identity.publicKey,
        ephemeralKey: ephemeral.publicKey,
        expiresAt: options.expiresAt,
      },
      (signed) => options.identity.sign('hello', signed),
    );
    const session = new ChannelSession({
      identity: options.identity,
      now,
      frameCrypto: options.frameCrypto,
      handshakeRole: 'initiator',
      walletId: options.walletId,
      sessionId,
      localRole: options.localRole,
      peerRole: options.peerRole,
      peerIdentity,
      expiresAt: options.expiresAt,
      hello,
      phase: 'awaiting-accept',
    });
    session.#ephemeralSecret = ephemeral.secretKey;
    return { session, hello: hello.slice() };
  }

  /**
   * Answers a hello from the pinned peer: checks it, derives the keys and returns the established
   * session with the accept frame to send back. Throws a ChannelError if the hello is not acceptable.
   */
  static respond(options: RespondOptions): { session: ChannelSession; accept: Uint8Array } {
    const now = options.now ?? Date.now;
    const hello = options.hello instanceof Uint8Array ? decodeFrame(options.hello) : options.hello;
    if (hello.type !== 'hello') throw badFrame(`expected a hello, got ${hello.type}`);
    const instance = options.instance ?? '';
    if (instance !== '' && !INSTANCE_ID_PATTERN.test(instance)) throw invalidArgument('Not an instance id.', JSON.stringify(instance));
    if (hello.toRole !== options.localRole) {
      throw new ChannelError('CHANNEL_WRONG_PEER', 'This hello is addressed to another role.', { details: `to ${hello.toRole}, we are ${options.localRole}` });
    }
    const maxLifetimeMs = options.maxLifetimeMs ?? DEFAULT_MAX_LIFETIME_MS;
    const current = now();
    if (current > hello.expiresAt) throw new ChannelError('CHANNEL_EXPIRED', 'This session request has expired.', { details: `expired at ${hello.expiresAt}, now ${current}` });
    if (hello.expiresAt > current + maxLifetimeMs) throw badFrame(`the hello expires more than ${maxLifetimeMs} ms from now`);
    const peerIdentity = parsePublicKey(options.peerIdentity);
    if (!equalBytes(hello.identityKey, peerIdentity)) {
      throw new ChannelError('CHANNEL_WRONG_PEER', 'The hello is not from the identity key pinned for this wallet.', {
        details: `wallet ${hello.walletId}, role ${hello.fromRole}`,
      });
    }
    if (!verifyIdentitySignature(peerIdentity, 'hello', signedPart(hello), hello.signature)) {
      throw new ChannelError('CHANNEL_BAD_SIGNATURE', 'The hello signature does not verify against the pinned identity key.');
    }

    const ephemeral = generateKeyPair();
    const helloHash = sha256(hello.bytes);
    const accept = encodeAccept(
      {
        walletId: hello.walletId,
        sessionId: hello.sessionId,
        fromRole: options.localRole,
        identityKey: options.identity.publicKey,
        ephemeralKey: ephemeral.publicKey,
        instance,
      },
      (signed) => options.identity.sign('accept', concatBytes(helloHash, signed)),
    );
    const keys = deriveKeys({
      ephemeralShared: sharedSecret(ephemeral.secretKey, hello.ephemeralKey),
      staticShared: options.identity.staticSecretWith(peerIdentity),
      walletId: hello.walletId,
      sessionId: hello.sessionId,
      hello: hello.bytes,
      accept,
    });
    ephemeral.secretKey.fill(0);

    const session = new ChannelSession({
      identity: options.identity,
      now,
      frameCrypto: options.frameCrypto,
      handshakeRole: 'responder',
      walletId: hello.walletId,
      sessionId: hello.sessionId,
      localRole: options.localRole,
      peerRole: hello.fromRole,
      peerIdentity,
      expiresAt: hello.expiresAt,
      hello: hello.bytes.slice(),
      phase: 'established',
    });
    session.#accept = accept;
    session.#send = keys.responderToInitiator;
    session.#receive = keys.initiatorToResponder;
    return { session, accept: accept.slice() };
  }

  get phase(): SessionPhase {
    return this.#phase;
  }
  get established(): boolean {
    return this.#phase === 'established';
  }
  get dead(): boolean {
    return this.#phase === 'dead';
  }
  /** The error that ended the session, if one did. */
  get error(): ChannelError | undefined {
    return this.#error;
  }
  /** The responder's instance id from its accept ('' until then, or when it has none). */
  get peerInstance(): string {
    return this.#peerInstance;
  }
  get nextSendSeq(): number {
    return this.#nextSendSeq;
  }
  get nextReceiveSeq(): number {
    return this.#nextReceiveSeq;
  }

  /**
   * Processes one incoming frame of this session: the accept (initiator), a data frame, or a
   * redelivered hello/accept. Any check that fails ends the session with a ChannelError.
   */
  receive(input: Uint8Array | Frame): Promise<ReceiveResult> {
    return this.#serial(async () => {
      this.#assertAlive();
      try {
        const frame = input instanceof Uint8Array ? decodeFrame(input) : input;
        if (frame.type === 'status') throw badFrame('a presence frame is not part of a session');
        if (frame.walletId !== this.walletId || frame.sessionId !== this.sessionId) {
          throw new ChannelError('CHANNEL_WRONG_SESSION', 'A frame of another session or wallet was refused.', {
            details: `got ${frame.walletId}/${frame.sessionId}, expected ${this.walletId}/${this.sessionId}`,
          });
        }
        if (frame.fromRole !== this.peerRole) {
          throw new ChannelError('CHANNEL_WRONG_PEER', 'A frame claims to come from the wrong role.', { details: `from ${frame.fromRole}, peer is ${this.peerRole}` });
        }
        if (frame.type === 'hello') return this.#receiveHello(frame);
        if (frame.type === 'accept') return this.#receiveAccept(frame);
        return await this.#receiveData(frame);
      } catch (error) {
        throw this.#fail(error);
      }
    });
  }

  /** Encrypts one message for the peer and returns the data frame to publish. */
  seal(round: number, body: Uint8Array, options: { expiresAt?: number } = {}): Promise<Uint8Array> {
    return this.#serial(async () => {
      this.#assertAlive();
      if (this.#phase !== 'established' || !this.#send) {
        throw new ChannelError('CHANNEL_NOT_READY', 'The session is not established yet: wait for the accept.');
      }
      if (!Number.isInteger(round) || round < 0 || round > MAX_SEQ) throw invalidArgument('round must be an integer in [0, 2^32).');
      if (!(body instanceof Uint8Array)) throw invalidArgument('body must be a Uint8Array.');
      if (body.length > MAX_BODY_BYTES) throw invalidArgument(`body is larger than ${MAX_BODY_BYTES} bytes.`);
      const expiresAt = options.expiresAt ?? this.expiresAt;
      if (!Number.isSafeInteger(expiresAt) || expiresAt > this.expiresAt) {
        throw invalidArgument('A message cannot expire after its session.', `message ${expiresAt}, session ${this.expiresAt}`);
      }
      const current = this.#now();
      if (current > this.expiresAt) throw this.#fail(this.#expired(this.expiresAt, current));
      if (current > expiresAt) throw invalidArgument('This message would already be expired.', `expiresAt ${expiresAt}, now ${current}`);
      if (this.#nextSendSeq > MAX_SEQ) throw this.#fail(new ChannelError('CHANNEL_CLOSED', 'This session has sent its last sequence number.'));

      const seq = this.#nextSendSeq++;
      const nonce = await dataNonce(this.#crypto, this.#send, seq, round, expiresAt, body);
      const header = encodeDataHeader(
        { walletId: this.walletId, sessionId: this.sessionId, fromRole: this.localRole, round, seq, expiresAt, nonce },
        body.length + 16,
      );
      const ciphertext = await this.#crypto.sealAesGcm(this.#send.encryption, nonce, header, body);
      return concatBytes(header, ciphertext);
    });
  }

  /** Ends the session locally and overwrites its keys. Later calls throw CHANNEL_SESSION_DEAD. */
  close(): void {
    if (this.#phase !== 'dead') this.#fail(new ChannelError('CHANNEL_CLOSED', 'This session was closed.'));
  }

  export(): SessionState {
    const keys =
      this.#send && this.#receive
        ? {
            send: bytesToHex(this.#send.encryption),
            sendNonce: bytesToHex(this.#send.nonce),
            receive: bytesToHex(this.#receive.encryption),
            receiveNonce: bytesToHex(this.#receive.nonce),
          }
        : null;
    return {
      version: 1,
      handshakeRole: this.handshakeRole,
      phase: this.#phase,
      walletId: this.walletId,
      sessionId: this.sessionId,
      localRole: this.localRole,
      peerRole: this.peerRole,
      localIdentity: this.#identity.publicKeyHex,
      peerIdentity: bytesToHex(this.peerIdentity),
      expiresAt: this.expiresAt,
      hello: bytesToHex(this.#hello),
      accept: this.#accept ? bytesToHex(this.#accept) : null,
      ephemeralSecret: this.#ephemeralSecret ? bytesToHex(this.#ephemeralSecret) : null,
      keys,
      nextSendSeq: this.#nextSendSeq,
      nextReceiveSeq: this.#nextReceiveSeq,
      receivedBase: this.#receivedBase,
      received: [...this.#received],
      error: this.#error ? { code: this.#error.code, message: this.#error.shortMessage } : null,
    };
  }

  /** Restores an exported session. `identity` must be the key the session was made with. */
  static import(state: SessionState, options: { identity: Identity; now?: () => number; frameCrypto?: FrameCrypto }): ChannelSession {
    const fail = (what: string): never => {
      throw invalidArgument('This is not a valid exported channel session.', what);
    };
    const hex = (value: unknown, bytes: number | undefined, what: string): Uint8Array => {
      if (typeof value !== 'string' || !/^([0-9a-f]{2})*$/.test(value)) return fail(`${what} is not hex`);
      const out = hexToBytes(value);
      if (bytes !== undefined && out.length !== bytes) fail(`${what} must be ${bytes} bytes`);
      return out;
    };
    const count = (value: unknown, what: string): number => {
      if (!Number.isSafeInteger(value) || (value as number) < 0 || (value as number) > MAX_SEQ + 1) fail(`${what} is not a count`);
      return value as number;
    };
    if (typeof state !== 'object' || state === null || state.version !== 1) fail('unknown version');
    if (state.handshakeRole !== 'initiator' && state.handshakeRole !== 'responder') fail('handshakeRole');
    if (!['awaiting-accept', 'established', 'dead'].includes(state.phase)) fail('phase');
    if (!WALLET_ID_PATTERN.test(state.walletId) || !/^[0-9a-f]{32}$/.test(state.sessionId)) fail('wallet or session id');
    const roles: unknown[] = ['device', 'cosigner'];
    if (!roles.includes(state.localRole) || !roles.includes(state.peerRole) || state.localRole === state.peerRole) fail('roles');
    if (state.localIdentity !== options.identity.publicKeyHex) fail('the session belongs to another identity key');
    if (!Number.isSafeInteger(state.expiresAt)) fail('expiresAt');
    let peerIdentity: Uint8Array;
    try {
      peerIdentity = parsePublicKey(state.peerIdentity);
    } catch {
      return fail('peerIdentity');
    }
    const hello = hex(state.hello, undefined, 'hello');
    const session = new ChannelSession({
      identity: options.identity,
      now: options.now ?? Date.now,
      frameCrypto: options.frameCrypto,
      handshakeRole: state.handshakeRole,
      walletId: state.walletId,
      sessionId: state.sessionId,
      localRole: state.localRole,
      peerRole: state.peerRole,
      peerIdentity,
      expiresAt: state.expiresAt,
      hello,
      phase: state.phase,
    });
    if (state.accept !== null) {
      session.#accept = hex(state.accept, undefined, 'accept');
      const accept = decodeFrame(session.#accept);
      if (accept.type !== 'accept') fail('accept');
      session.#peerInstance = (accept as AcceptFrame).instance;
    }
    session.#nextSendSeq = count(state.nextSendSeq, 'nextSendSeq');
    session.#nextReceiveSeq = count(state.nextReceiveSeq, 'nextReceiveSeq');
    session.#receivedBase = count(state.receivedBase, 'receivedBase');
    if (!Array.isArray(state.received) || state.received.some((digest) => typeof digest !== 'string' || !/^[0-9a-f]{32}$/.test(digest))) fail('received');
    if (state.receivedBase + state.received.length !== state.nextReceiveSeq) fail('received window does not end at nextReceiveSeq');
    session.#received = [...state.received];
    if (state.phase === 'dead') {
      const code = state.error?.code ?? 'CHANNEL_CLOSED';
      session.#error = new ChannelError(code, state.error?.message ?? 'This session was closed.');
      return session;
    }
    if (state.phase === 'awaiting-accept') {
      if (state.handshakeRole !== 'initiator' || state.ephemeralSecret === null) fail('an initiator waiting for the accept needs its ephemeral secret');
      session.#ephemeralSecret = hex(state.ephemeralSecret, 32, 'ephemeralSecret');
      return session;
    }
    if (state.keys === null || state.accept === null) fail('an established session needs its keys and accept');
    const keys = state.keys!;
    session.#send = { encryption: hex(keys.send, 32, 'send key'), nonce: hex(keys.sendNonce, 32, 'send nonce key') };
    session.#receive = { encryption: hex(keys.receive, 32, 'receive key'), nonce: hex(keys.receiveNonce, 32, 'receive nonce key') };
    return session;
  }

  #receiveHello(frame: HelloFrame): ReceiveResult {
    if (this.handshakeRole !== 'responder') throw badFrame('an initiator never receives a hello');
    if (equalBytes(frame.bytes, this.#hello)) return { kind: 'duplicate' };
    throw new ChannelError('CHANNEL_REPLAY', 'A second, different hello arrived for this session.');
  }

  #receiveAccept(frame: AcceptFrame): ReceiveResult {
    if (this.handshakeRole !== 'initiator') throw badFrame('a responder never receives an accept');
    if (this.#phase === 'established') {
      if (this.#accept && equalBytes(frame.bytes, this.#accept)) return { kind: 'duplicate' };
      throw new ChannelError('CHANNEL_REPLAY', 'A second, different accept arrived for this session.');
    }
    const current = this.#now();
    if (current > this.expiresAt) throw this.#expired(this.expiresAt, current);
    if (!equalBytes(frame.identityKey, this.peerIdentity)) {
      throw new ChannelError('CHANNEL_WRONG_PEER', 'The accept is not from the identity key pinned for this peer.');
    }
    const signed = concatBytes(sha256(this.#hello), signedPart(frame));
    if (!verifyIdentitySignature(this.peerIdentity, 'accept', signed, frame.signature)) {
      throw new ChannelError('CHANNEL_BAD_SIGNATURE', 'The accept signature does not verify against the pinned identity key.');
    }
    const keys = deriveKeys({
      ephemeralShared: sharedSecret(this.#ephemeralSecret!, frame.ephemeralKey),
      staticShared: this.#identity.staticSecretWith(this.peerIdentity),
      walletId: this.walletId,
      sessionId: this.sessionId,
      hello: this.#hello,
      accept: frame.bytes,
    });
    this.#ephemeralSecret!.fill(0);
    this.#ephemeralSecret = undefined;
    this.#send = keys.initiatorToResponder;
    this.#receive = keys.responderToInitiator;
    this.#accept = frame.bytes.slice();
    this.#peerInstance = frame.instance;
    this.#phase = 'established';
    return { kind: 'established' };
  }

  async #receiveData(frame: DataFrame): Promise<ReceiveResult> {
    if (this.#phase !== 'established' || !this.#receive) {
      throw new ChannelError('CHANNEL_OUT_OF_ORDER', 'A data frame arrived before the handshake finished.');
    }
    if (frame.seq < this.#nextReceiveSeq) {
      const index = frame.seq - this.#receivedBase;
      if (index >= 0 && this.#received[index] === (await frameDigest(this.#crypto, frame.bytes))) return { kind: 'duplicate' };
      throw new ChannelError('CHANNEL_REPLAY', 'A frame reuses a sequence number that was already accepted.', {
        details: `seq ${frame.seq}, next expected ${this.#nextReceiveSeq}`,
      });
    }
    let body: Uint8Array;
    try {
      body = await this.#crypto.openAesGcm(this.#receive.encryption, frame.nonce, frame.header, frame.ciphertext);
    } catch (cause) {
      throw new ChannelError('CHANNEL_TAMPERED', 'A frame failed authentication: it was altered or forged.', { cause });
    }
    if (frame.seq > this.#nextReceiveSeq) {
      throw new ChannelError('CHANNEL_OUT_OF_ORDER', 'A frame skipped sequence numbers: messages were lost or reordered.', {
        details: `seq ${frame.seq}, next expected ${this.#nextReceiveSeq}`,
      });
    }
    const current = this.#now();
    const expiresAt = Math.min(frame.expiresAt, this.expiresAt);
    if (current > expiresAt) throw this.#expired(expiresAt, current);

    this.#received.push(await frameDigest(this.#crypto, frame.bytes));
    this.#nextReceiveSeq++;
    if (this.#received.length > RECEIVE_WINDOW) {
      this.#received.shift();
      this.#receivedBase++;
    }
    return { kind: 'message', round: frame.round, seq: frame.seq, body };
  }

  #expired(expiresAt: number, now: number): ChannelError {
    return new ChannelError('CHANNEL_EXPIRED', 'The request expired before it could be completed.', { details: `expired at ${expiresAt}, now ${now}` });
  }

  #assertAlive(): void {
    if (this.#phase === 'dead') {
      throw new ChannelError('CHANNEL_SESSION_DEAD', 'This session has ended and refuses every further frame. Start a new one.', {
        details: this.#error ? `it ended with ${this.#error.code}: ${this.#error.shortMessage}` : undefined,
        cause: this.#error,
      });
    }
  }

  /** Kills the session for the given error (unless it is a caller mistake) and returns the error to throw. */
  #fail(error: unknown): unknown {
    if (error instanceof ChannelError && (error.code === 'CHANNEL_INVALID_ARGUMENT' || error.code === 'CHANNEL_NOT_READY')) return error;
    if (this.#phase === 'dead') return error;
    this.#phase = 'dead';
    this.#error =
      error instanceof ChannelError
        ? error
        : new ChannelError('CHANNEL_BAD_FRAME', 'The session failed on an unexpected error.', { cause: error });
    for (const keys of [this.#send, this.#receive]) {
      keys?.encryption.fill(0);
      keys?.nonce.fill(0);
    }
    this.#send = undefined;
    this.#receive = undefined;
    this.#ephemeralSecret?.fill(0);
    this.#ephemeralSecret = undefined;
    return error;
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(task, task);
    this.#lock = run.catch(() => undefined);
    return run;
  }
}
