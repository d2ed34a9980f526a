/**
 * The binary wire format of everything the channel puts on MQTT.
 *
 * Every frame starts with a version byte and a type byte. Fields have fixed sizes or a length prefix,
 * integers are big-endian, times are unix milliseconds in 8 bytes. Identity signatures come last,
 * so what a signature covers is exactly the bytes in front of it. Decoding is strict: the length must
 * match to the byte, every enum value must be known, and every point must be on the curve.
 *
 *   session header  version u8 | type u8 | walletId 16 | sessionId 16
 *   hello   header | fromRole u8 | toRole u8 | identityKey 33 | ephemeralKey 33 | expiresAt u64 | signature 64
 *   accept  header | fromRole u8 | identityKey 33 | ephemeralKey 33 | instanceLen u8 | instance | signature 64
 *   data    header | fromRole u8 | round u32 | seq u32 | expiresAt u64 | nonce 12 | ciphertextLen u32 | ciphertext
 *   status  version u8 | type u8 | state u8 | startedAt u64 | connection u32 | issuedAt u64 | heartbeatMs u32 | instanceLen u8 | instance | signature 64
 */
import { bytesToHex, hexToBytes } from '../mpc/bytes.js';
import { POINT_BYTES, pointFromBytes } from '../mpc/curve.js';
import { badFrame } from './errors.js';
import { SIGNATURE_BYTES } from './identity.js';
import { INSTANCE_ID_PATTERN, WALLET_ID_PATTERN, type ChannelRole } from './topics.js';

export const FRAME_VERSION = 1;
export const SESSION_ID_BYTES = 16;
export const WALLET_ID_BYTES = 16;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
/** Largest plaintext body of a data frame: a full-size MPC message (1 MiB payload) plus room for its envelope. */
export const MAX_BODY_BYTES = (1 << 20) + 4096;

const SESSION_HEADER_BYTES = 2 + WALLET_ID_BYTES + SESSION_ID_BYTES;
const HELLO_BYTES = SESSION_HEADER_BYTES + 1 + 1 + POINT_BYTES + POINT_BYTES + 8 + SIGNATURE_BYTES;
const ACCEPT_FIXED_BYTES = SESSION_HEADER_BYTES + 1 + POINT_BYTES + POINT_BYTES + 1 + SIGNATURE_BYTES;
/** Everything of a data frame before the ciphertext; it is also the AEAD additional data. */
export const DATA_HEADER_BYTES = SESSION_HEADER_BYTES + 1 + 4 + 4 + 8 + NONCE_BYTES + 4;
const STATUS_FIXED_BYTES = 2 + 1 + 8 + 4 + 8 + 4 + 1 + SIGNATURE_BYTES;
/** The largest frame the channel sends or accepts; brokers should allow at least this payload size. */
export const MAX_FRAME_BYTES = DATA_HEADER_BYTES + MAX_BODY_BYTES + TAG_BYTES;

const MAX_U32 = 0xffff_ffff;

export type FrameType = 'hello' | 'accept' | 'data' | 'status';
const TYPE_CODES: Record<FrameType, number> = { hello: 1, accept: 2, data: 3, status: 4 };
const ROLE_CODES: Record<ChannelRole, number> = { device: 1, cosigner: 2 };
const STATE_CODES = { online: 1, offline: 2 } as const;
export type PresenceState = keyof typeof STATE_CODES;

interface SessionFrameBase {
  walletId: string;
  /** 32 lowercase hex characters. */
  sessionId: string;
  fromRole: ChannelRole;
  /** The whole frame as received or encoded. */
  bytes: Uint8Array;
}

export interface HelloFrame extends SessionFrameBase {
  type: 'hello';
  toRole: ChannelRole;
  identityKey: Uint8Array;
  ephemeralKey: Uint8Array;
  expiresAt: number;
  signature: Uint8Array;
}

export interface AcceptFrame extends SessionFrameBase {
  type: 'accept';
  identityKey: Uint8Array;
  ephemeralKey: Uint8Array;
  /** Where the responder wants the rest of the session sent (an instance inbox), or '' for its role inbox. */
  instance: string;
  signature: Uint8Array;
}

export interface DataFrame extends SessionFrameBase {
  type: 'data';
  round: number;
  seq: number;
  expiresAt: number;
  nonce: Uint8Array;
  ciphertext: Uint8Array;
  /** The header bytes in front of the ciphertext: the AEAD additional data. */
  header: Uint8Array;
}

export interface StatusFrame {
  type: 'status';
  state: PresenceState;
  startedAt: number;
  /** Counts the instance's connections to the broker: each reconnection registers a new last will. */
  connection: number;
  issuedAt: number;
  heartbeatMs: number;
  instance: string;
  signature: Uint8Array;
  bytes: Uint8Array;
}

export type SessionFrame = HelloFrame | AcceptFrame | DataFrame;
export type Frame = SessionFrame | StatusFrame;

/** The part of a signed frame that its trailing signature covers. */
export function signedPart(frame: HelloFrame | AcceptFrame | StatusFrame): Uint8Array {
  return frame.bytes.subarray(0, frame.bytes.length - SIGNATURE_BYTES);
}

class Writer {
  readonly bytes: Uint8Array;
  readonly #view: DataView;
  #offset = 0;
  constructor(length: number) {
    this.bytes = new Uint8Array(length);
    this.#view = new DataView(this.bytes.buffer);
  }
  u8(value: number): this {
    this.bytes[this.#offset++] = value;
    return this;
  }
  u32(value: number): this {
    this.#view.setUint32(this.#offset, value);
    this.#offset += 4;
    return this;
  }
  time(value: number): this {
    this.#view.setBigUint64(this.#offset, BigInt(value));
    this.#offset += 8;
    return this;
  }
  raw(value: Uint8Array): this {
    this.bytes.set(value, this.#offset);
    this.#offset += value.length;
    return this;
  }
  get offset(): number {
    return this.#offset;
  }
}

class Reader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  #offset: number;
  constructor(bytes: Uint8Array, offset: number) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#offset = offset;
  }
  #need(length: number, what: string): void {
    if (this.#offset + length > this.#bytes.length) throw badFrame(`frame ends inside ${what}`);
  }
  u8(what: string): number {
    this.#need(1, what);
    return this.#bytes[this.#offset++]!;
  }
  u32(what: string): number {
    this.#need(4, what);
    const value = this.#view.getUint32(this.#offset);
    this.#offset += 4;
    return value;
  }
  time(what: string): number {
    this.#need(8, what);
    const value = this.#view.getBigUint64(this.#offset);
    this.#offset += 8;
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw badFrame(`${what} is out of range`);
    return Number(value);
  }
  raw(length: number, what: string): Uint8Array {
    this.#need(length, what);
    const out = this.#bytes.slice(this.#offset, this.#offset + length);
    this.#offset += length;
    return out;
  }
  point(what: string): Uint8Array {
    const bytes = this.raw(POINT_BYTES, what);
    try {
      pointFromBytes(bytes);
    } catch (cause) {
      throw badFrame(`${what} is not a valid secp256k1 point`, cause);
    }
    return bytes;
  }
  role(what: string): ChannelRole {
    const code = this.u8(what);
    const role = (Object.keys(ROLE_CODES) as ChannelRole[]).find((name) => ROLE_CODES[name] === code);
    if (!role) throw badFrame(`${what} ${code} is not a known role`);
    return role;
  }
  instance(): string {
    const bytes = this.raw(this.u8('instance length'), 'instance');
    // Instance ids are ASCII by their pattern, so anything else is refused before decoding.
    const text = String.fromCharCode(...bytes);
    if (text !== '' && !INSTANCE_ID_PATTERN.test(text)) throw badFrame('instance id has characters that are not allowed');
    return text;
  }
  get offset(): number {
    return this.#offset;
  }
  end(): void {
    if (this.#offset !== this.#bytes.length) throw badFrame(`${this.#bytes.length - this.#offset} unexpected bytes after the frame`);
  }
}

function checkTime(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw badFrame(`${what} must be a non-negative integer (unix ms)`);
}
function checkU32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_U32) throw badFrame(`${what} must be an integer in [0, 2^32)`);
}
function checkInstance(instance: string): Uint8Array {
  if (instance !== '' && !INSTANCE_ID_PATTERN.test(instance)) throw badFrame('instance id has characters that are not allowed');
  return new TextEncoder().encode(instance);
}
function checkLength(bytes: Uint8Array, length: number, what: string): void {
  if (bytes.length !== length) throw badFrame(`${what} must be ${length} bytes, got ${bytes.length}`);
}

function walletIdBytes(walletId: string): Uint8Array {
  if (!WALLET_ID_PATTERN.test(walletId)) throw badFrame(`not a wallet id: ${JSON.stringify(walletId)}`);
  return hexToBytes(walletId);
}
function sessionIdBytes(sessionId: string): Uint8Array {
  if (!/^[0-9a-f]{32}$/.test(sessionId)) throw badFrame(`not a session id: ${JSON.stringify(sessionId)}`);
  return hexToBytes(sessionId);
}

function writeSessionHeader(writer: Writer, type: FrameType, walletId: string, sessionId: string): void {
  writer.u8(FRAME_VERSION).u8(TYPE_CODES[type]).raw(walletIdBytes(walletId)).raw(sessionIdBytes(sessionId));
}

export type HelloFields = Omit<HelloFrame, 'type' | 'bytes' | 'signature'>;
export type AcceptFields = Omit<AcceptFrame, 'type' | 'bytes' | 'signature'>;
export type DataFields = Omit<DataFrame, 'type' | 'bytes' | 'header' | 'ciphertext'>;
export type StatusFields = Omit<StatusFrame, 'type' | 'bytes' | 'signature'>;

/** Encodes a signed frame: `sign` receives the bytes its signature must cover. */
export function encodeHello(fields: HelloFields, sign: (signed: Uint8Array) => Uint8Array): Uint8Array {
  checkLength(fields.identityKey, POINT_BYTES, 'identity key');
  checkLength(fields.ephemeralKey, POINT_BYTES, 'ephemeral key');
  checkTime(fields.expiresAt, 'expiresAt');
  const writer = new Writer(HELLO_BYTES);
  writeSessionHeader(writer, 'hello', fields.walletId, fields.sessionId);
  writer.u8(ROLE_CODES[fields.fromRole]).u8(ROLE_CODES[fields.toRole]);
  writer.raw(fields.identityKey).raw(fields.ephemeralKey).time(fields.expiresAt);
  return finishSigned(writer, sign);
}

export function encodeAccept(fields: AcceptFields, sign: (signed: Uint8Array) => Uint8Array): Uint8Array {
  checkLength(fields.identityKey, POINT_BYTES, 'identity key');
  checkLength(fields.ephemeralKey, POINT_BYTES, 'ephemeral key');
  const instance = checkInstance(fields.instance);
  const writer = new Writer(ACCEPT_FIXED_BYTES + instance.length);
  writeSessionHeader(writer, 'accept', fields.walletId, fields.sessionId);
  writer.u8(ROLE_CODES[fields.fromRole]).raw(fields.identityKey).raw(fields.ephemeralKey);
  writer.u8(instance.length).raw(instance);
  return finishSigned(writer, sign);
}

export function encodeStatus(fields: StatusFields, sign: (signed: Uint8Array) => Uint8Array): Uint8Array {
  checkTime(fields.startedAt, 'startedAt');
  checkU32(fields.connection, 'connection');
  checkTime(fields.issuedAt, 'issuedAt');
  checkU32(fields.heartbeatMs, 'heartbeatMs');
  const instance = checkInstance(fields.instance);
  const writer = new Writer(STATUS_FIXED_BYTES + instance.length);
  writer.u8(FRAME_VERSION).u8(TYPE_CODES.status).u8(STATE_CODES[fields.state]);
  writer.time(fields.startedAt).u32(fields.connection).time(fields.issuedAt).u32(fields.heartbeatMs).u8(instance.length).raw(instance);
  return finishSigned(writer, sign);
}

function finishSigned(writer: Writer, sign: (signed: Uint8Array) => Uint8Array): Uint8Array {
  const signature = sign(writer.bytes.subarray(0, writer.offset));
  checkLength(signature, SIGNATURE_BYTES, 'signature');
  writer.raw(signature);
  return writer.bytes;
}

/** The header of a data frame, which is also its AEAD additional data; the ciphertext follows it. */
export function encodeDataHeader(fields: DataFields, ciphertextLength: number): Uint8Array {
  checkU32(fields.round, 'round');
  checkU32(fields.seq, 'seq');
  checkTime(fields.expiresAt, 'expiresAt');
  checkLength(fields.nonce, NONCE_BYTES, 'nonce');
  if (ciphertextLength < TAG_BYTES || ciphertextLength > MAX_BODY_BYTES + TAG_BYTES) throw badFrame('ciphertext length out of range');
  const writer = new Writer(DATA_HEADER_BYTES);
  writeSessionHeader(writer, 'data', fields.walletId, fields.sessionId);
  writer.u8(ROLE_CODES[fields.fromRole]).u32(fields.round).u32(fields.seq).time(fields.expiresAt).raw(fields.nonce);
  writer.u32(ciphertextLength);
  return writer.bytes;
}

/** Strictly decodes one frame; throws ChannelError CHANNEL_BAD_FRAME on anything unexpected. */
export function decodeFrame(input: Uint8Array): Frame {
  if (!(input instanceof Uint8Array)) throw badFrame('a frame must be bytes');
  if (input.length > MAX_FRAME_BYTES) throw badFrame(`frame of ${input.length} bytes is larger than the ${MAX_FRAME_BYTES}-byte limit`);
  // A private copy: the caller's buffer (an MQTT packet) may be reused or changed after this returns.
  const bytes = input.slice();
  if (bytes.length < 2) throw badFrame('frame is shorter than its version and type');
  if (bytes[0] !== FRAME_VERSION) throw badFrame(`frame version ${bytes[0]} is not ${FRAME_VERSION}`);
  const type = (Object.keys(TYPE_CODES) as FrameType[]).find((name) => TYPE_CODES[name] === bytes[1]);
  if (!type) throw badFrame(`frame type ${bytes[1]} is unknown`);
  if (type === 'status') return decodeStatus(bytes);

  const reader = new Reader(bytes, 2);
  const walletId = bytesToHex(reader.raw(WALLET_ID_BYTES, 'wallet id'));
  const sessionId = bytesToHex(reader.raw(SESSION_ID_BYTES, 'session id'));
  const fromRole = reader.role('sender role');
  if (type === 'hello') {
    const toRole = reader.role('recipient role');
    if (toRole === fromRole) throw badFrame('a hello must go to the other role');
    const identityKey = reader.point('identity key');
    const ephemeralKey = reader.point('ephemeral key');
    const expiresAt = reader.time('expiresAt');
    const signature = reader.raw(SIGNATURE_BYTES, 'signature');
    reader.end();
    return { type, walletId, sessionId, fromRole, toRole, identityKey, ephemeralKey, expiresAt, signature, bytes };
  }
  if (type === 'accept') {
    const identityKey = reader.point('identity key');
    const ephemeralKey = reader.point('ephemeral key');
    const instance = reader.instance();
    const signature = reader.raw(SIGNATURE_BYTES, 'signature');
    reader.end();
    return { type, walletId, sessionId, fromRole, identityKey, ephemeralKey, instance, signature, bytes };
  }
  const round = reader.u32('round');
  const seq = reader.u32('seq');
  const expiresAt = reader.time('expiresAt');
  const nonce = reader.raw(NONCE_BYTES, 'nonce');
  const length = reader.u32('ciphertext length');
  if (length < TAG_BYTES) throw badFrame('ciphertext is shorter than its authentication tag');
  if (length > MAX_BODY_BYTES + TAG_BYTES) throw badFrame('ciphertext is larger than the body limit');
  const header = bytes.subarray(0, reader.offset);
  const ciphertext = reader.raw(length, 'ciphertext');
  reader.end();
  return { type, walletId, sessionId, fromRole, round, seq, expiresAt, nonce, ciphertext, header, bytes };
}

function decodeStatus(bytes: Uint8Array): StatusFrame {
  const reader = new Reader(bytes, 2);
  const code = reader.u8('presence state');
  const state = (Object.keys(STATE_CODES) as PresenceState[]).find((name) => STATE_CODES[name] === code);
  if (!state) throw badFrame(`presence state ${code} is unknown`);
  const startedAt = reader.time('startedAt');
  const connection = reader.u32('connection');
  const issuedAt = reader.time('issuedAt');
  const heartbeatMs = reader.u32('heartbeatMs');
  const instance = reader.instance();
  const signature = reader.raw(SIGNATURE_BYTES, 'signature');
  reader.end();
  return { type: 'status', state, startedAt, connection, issuedAt, heartbeatMs, instance, signature, bytes };
}

/**
 * Wallet and session of a session frame read from their fixed offsets without decoding the rest,
 * so that an undecodable frame can still be charged to the session it claims to belong to.
 */
export function peekSession(bytes: Uint8Array): { walletId: string; sessionId: string } | undefined {
  if (bytes.length < SESSION_HEADER_BYTES) return undefined;
  return {
    walletId: bytesToHex(bytes.subarray(2, 2 + WALLET_ID_BYTES)),
    sessionId: bytesToHex(bytes.subarray(2 + WALLET_ID_BYTES, SESSION_HEADER_BYTES)),
  };
}
