/**
 * Large MQTT messages cut into small ones, and put back together.
 *
 * Why: Mosquitto 2.0 (Debian's 2.0.11, built-in WebSockets) sends a WebSocket client about 4 KB per
 * turn of its event loop and then sleeps up to 100 ms: a 55 KB channel frame took 1.3 s to reach a
 * device, while fifteen 3.8 KB messages arrive in a few milliseconds. So a co-signer behind an
 * external broker sends large messages as fragments, and devices and approvers reassemble them.
 *
 * A fragment: 0xF7 | message id (8 random bytes) | index (u16) | count (u16) | piece. Every other
 * payload on the wire starts with version byte 1, so a fragment is never mistaken for a frame. A
 * fragment carries no authentication of its own: the reassembled frame or letter is authenticated
 * as before, and a forged piece only makes it fail that check. What a reader holds while it waits for
 * the rest is bounded in count, bytes (bookkeeping included: every piece but the last is at least
 * MIN_PIECE_BYTES long) and time.
 */
import { bytesToHex, randomBytes } from '../mpc/bytes.js';
import { ChannelError } from './errors.js';

export const FRAGMENT_MARKER = 0xf7;
const ID_BYTES = 8;
export const FRAGMENT_HEADER_BYTES = 1 + ID_BYTES + 2 + 2;
/** Whole fragments (header included) of at most this many bytes go through Mosquitto's WebSockets at once. */
export const DEFAULT_FRAGMENT_BYTES = 3840;
const MAX_COUNT = 0xffff;
/** Every piece but the last is at least this long, so a message cannot be cut into a flood of tiny ones. */
export const MIN_PIECE_BYTES = 256;
/** Charged per piece and per message on top of the bytes held: the objects that hold them cost memory too (~550 bytes measured on Node 20). */
const PIECE_OVERHEAD_BYTES = 512;

export function isFragment(payload: Uint8Array): boolean {
  return payload.length >= FRAGMENT_HEADER_BYTES && payload[0] === FRAGMENT_MARKER;
}

/** Cuts `payload` into fragments of at most `fragmentBytes` bytes each (header included). */
export function splitIntoFragments(payload: Uint8Array, fragmentBytes: number): Uint8Array[] {
  const pieceBytes = fragmentBytes - FRAGMENT_HEADER_BYTES;
  if (!Number.isInteger(pieceBytes) || pieceBytes < MIN_PIECE_BYTES) {
    throw new ChannelError('CHANNEL_INVALID_ARGUMENT', `A fragment must have room for ${MIN_PIECE_BYTES} bytes after its header.`);
  }
  const count = Math.max(1, Math.ceil(payload.length / pieceBytes));
  if (count > MAX_COUNT) throw new ChannelError('CHANNEL_INVALID_ARGUMENT', 'This message needs more fragments than a fragment header can count.');
  const id = randomBytes(ID_BYTES);
  const fragments: Uint8Array[] = [];
  for (let index = 0; index < count; index++) {
    const piece = payload.subarray(index * pieceBytes, (index + 1) * pieceBytes);
    const fragment = new Uint8Array(FRAGMENT_HEADER_BYTES + piece.length);
    fragment[0] = FRAGMENT_MARKER;
    fragment.set(id, 1);
    const view = new DataView(fragment.buffer);
    view.setUint16(1 + ID_BYTES, index);
    view.setUint16(3 + ID_BYTES, count);
    fragment.set(piece, FRAGMENT_HEADER_BYTES);
    fragments.push(fragment);
  }
  return fragments;
}

interface Assembly {
  count: number;
  pieces: Map<number, Uint8Array>;
  /** Payload bytes received. */
  bytes: number;
  /** What the assembly is charged against maxPendingBytes: its pieces and their bookkeeping. */
  charged: number;
  startedAt: number;
}

export interface AssemblerLimits {
  /** Largest message put back together. */
  maxMessageBytes: number;
  /** Bytes held in unfinished messages, all together, bookkeeping included. Default 4 × maxMessageBytes. */
  maxPendingBytes?: number;
  /** Unfinished messages held at once. Default 64. */
  maxPending?: number;
  /** How long an unfinished message waits for the rest. Default 60 s. */
  ttlMs?: number;
  now?: () => number;
}

/**
 * Puts fragments back together, per topic and message id. A repeated fragment (a QoS 1 redelivery)
 * changes nothing. Over a limit, the oldest unfinished messages are dropped: their frames then never
 * arrive, and the request that waited for them ends at its deadline, as if the broker had lost them.
 */
export class FragmentAssembler {
  readonly #pending = new Map<string, Assembly>();
  readonly #limits: Required<Omit<AssemblerLimits, 'now'>>;
  readonly #maxCount: number;
  readonly #now: () => number;
  #pendingBytes = 0;
  #expiryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(limits: AssemblerLimits) {
    this.#limits = {
      maxMessageBytes: limits.maxMessageBytes,
      maxPendingBytes: limits.maxPendingBytes ?? 4 * limits.maxMessageBytes,
      maxPending: limits.maxPending ?? 64,
      ttlMs: limits.ttlMs ?? 60_000,
    };
    this.#maxCount = Math.min(MAX_COUNT, Math.ceil(limits.maxMessageBytes / MIN_PIECE_BYTES));
    this.#now = limits.now ?? Date.now;
  }

  /** Bytes held for unfinished messages, bookkeeping included. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  get pendingMessages(): number {
    return this.#pending.size;
  }

  /** The whole message once `fragment` completes it, otherwise undefined. Throws CHANNEL_BAD_FRAME for a malformed fragment. */
  add(topic: string, fragment: Uint8Array): Uint8Array | undefined {
    if (!isFragment(fragment)) throw badFragment('not a fragment');
    const view = new DataView(fragment.buffer, fragment.byteOffset, fragment.byteLength);
    const index = view.getUint16(1 + ID_BYTES);
    const count = view.getUint16(3 + ID_BYTES);
    const piece = fragment.subarray(FRAGMENT_HEADER_BYTES);
    if (count === 0 || index >= count) throw badFragment(`index ${index} of ${count}`);
    if (count > this.#maxCount) throw badFragment(`${count} pieces; a message has at most ${this.#maxCount}`);
    if (piece.length === 0) throw badFragment('an empty piece');
    if (index < count - 1 && piece.length < MIN_PIECE_BYTES) throw badFragment(`a piece of ${piece.length} bytes before the last; pieces are at least ${MIN_PIECE_BYTES}`);
    this.#expire();
    const key = `${topic} ${bytesToHex(fragment.subarray(1, 1 + ID_BYTES))}`;
    let assembly = this.#pending.get(key);
    if (assembly && assembly.count !== count) {
      this.#drop(key, assembly);
      throw badFragment(`fragments of one message disagree on their count (${assembly.count}, ${count})`);
    }
    if (!assembly) {
      assembly = { count, pieces: new Map(), bytes: 0, charged: PIECE_OVERHEAD_BYTES, startedAt: this.#now() };
      this.#pending.set(key, assembly);
      this.#pendingBytes += assembly.charged;
    }
    if (assembly.pieces.has(index)) return undefined;
    if (assembly.bytes + piece.length > this.#limits.maxMessageBytes) {
      this.#drop(key, assembly);
      throw badFragment(`the message would exceed ${this.#limits.maxMessageBytes} bytes`);
    }
    // A copy of its own: `fragment` may be a view into the transport's buffers.
    assembly.pieces.set(index, new Uint8Array(piece));
    assembly.bytes += piece.length;
    assembly.charged += piece.length + PIECE_OVERHEAD_BYTES;
    this.#pendingBytes += piece.length + PIECE_OVERHEAD_BYTES;
    if (assembly.pieces.size === count) {
      this.#drop(key, assembly);
      const whole = new Uint8Array(assembly.bytes);
      let offset = 0;
      for (let part = 0; part < count; part++) {
        const bytes = assembly.pieces.get(part)!;
        whole.set(bytes, offset);
        offset += bytes.length;
      }
      return whole;
    }
    this.#evictBeyondLimits(key);
    this.#armExpiry();
    return undefined;
  }

  /** Drops every unfinished message (the transport closed). */
  clear(): void {
    this.#pending.clear();
    this.#pendingBytes = 0;
    clearTimeout(this.#expiryTimer);
    this.#expiryTimer = undefined;
  }

  #expire(): void {
    const oldest = this.#now() - this.#limits.ttlMs;
    for (const [key, assembly] of this.#pending) if (assembly.startedAt <= oldest) this.#drop(key, assembly);
  }

  /** Unfinished messages are also dropped when no fragment comes to trigger it. */
  #armExpiry(): void {
    if (this.#expiryTimer !== undefined || this.#pending.size === 0) return;
    const first = this.#pending.values().next().value!;
    const delay = Math.min(this.#limits.ttlMs, Math.max(0, first.startedAt + this.#limits.ttlMs - this.#now())) + 1;
    this.#expiryTimer = setTimeout(() => {
      this.#expiryTimer = undefined;
      this.#expire();
      this.#armExpiry();
    }, delay);
    // In Node, a pending expiry must not keep the process alive.
    (this.#expiryTimer as { unref?: () => void }).unref?.();
  }

  /** Drops the oldest unfinished messages (never `keep`, the one just added to) until within the limits. */
  #evictBeyondLimits(keep: string): void {
    for (const [key, assembly] of this.#pending) {
      if (this.#pending.size <= this.#limits.maxPending && this.#pendingBytes <= this.#limits.maxPendingBytes) return;
      if (key !== keep) this.#drop(key, assembly);
    }
  }

  #drop(key: string, assembly: Assembly): void {
    if (this.#pending.delete(key)) this.#pendingBytes -= assembly.charged;
  }
}

function badFragment(details: string): ChannelError {
  return new ChannelError('CHANNEL_BAD_FRAME', 'A message fragment is malformed and was dropped.', { details });
}
