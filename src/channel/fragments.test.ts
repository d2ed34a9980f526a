import { describe, expect, it } from 'vitest';
import { bytesToHex, randomBytes } from '../mpc/bytes.js';
import { ChannelError } from './errors.js';
import { DEFAULT_FRAGMENT_BYTES, FRAGMENT_HEADER_BYTES, FRAGMENT_MARKER, FragmentAssembler, MIN_PIECE_BYTES, isFragment, splitIntoFragments } from './fragments.js';
import { MAX_FRAME_BYTES } from './frame.js';

const TOPIC = 'tandem/v1/w/00/to/device';

function assembler(limits: Partial<ConstructorParameters<typeof FragmentAssembler>[0]> = {}) {
  return new FragmentAssembler({ maxMessageBytes: 1 << 20, ...limits });
}

function badFrame(run: () => unknown): ChannelError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ChannelError);
    expect((error as ChannelError).code).toBe('CHANNEL_BAD_FRAME');
    return error as ChannelError;
  }
  throw new Error('expected CHANNEL_BAD_FRAME');
}

/** A fragment with its header fields set by hand. */
function handMade(id: number, index: number, count: number, piece: Uint8Array): Uint8Array {
  const fragment = new Uint8Array(FRAGMENT_HEADER_BYTES + piece.length);
  fragment[0] = FRAGMENT_MARKER;
  fragment[1] = id;
  const view = new DataView(fragment.buffer);
  view.setUint16(9, index);
  view.setUint16(11, count);
  fragment.set(piece, FRAGMENT_HEADER_BYTES);
  return fragment;
}

describe('splitIntoFragments', () => {
  it.each([1, 100, DEFAULT_FRAGMENT_BYTES - FRAGMENT_HEADER_BYTES, DEFAULT_FRAGMENT_BYTES - FRAGMENT_HEADER_BYTES + 1, 55_370, 3 * (DEFAULT_FRAGMENT_BYTES - FRAGMENT_HEADER_BYTES)])(
    '%i bytes: fragments no larger than the limit, which put back together give the message',
    (size) => {
      const message = randomBytes(size);
      const fragments = splitIntoFragments(message, DEFAULT_FRAGMENT_BYTES);
      expect(fragments.length).toBe(Math.ceil(size / (DEFAULT_FRAGMENT_BYTES - FRAGMENT_HEADER_BYTES)));
      for (const fragment of fragments) {
        expect(fragment.length).toBeLessThanOrEqual(DEFAULT_FRAGMENT_BYTES);
        expect(isFragment(fragment)).toBe(true);
      }
      const reader = assembler();
      const results = fragments.map((fragment) => reader.add(TOPIC, fragment));
      expect(results.slice(0, -1).every((result) => result === undefined)).toBe(true);
      expect(bytesToHex(results.at(-1)!)).toBe(bytesToHex(message));
      expect(reader.pendingBytes).toBe(0);
    },
  );

  it('gives every message its own id, so two messages on one topic never mix', () => {
    const first = randomBytes(10_000);
    const second = randomBytes(9_000);
    const a = splitIntoFragments(first, 1000);
    const b = splitIntoFragments(second, 1000);
    const reader = assembler();
    const done: Uint8Array[] = [];
    // Interleaved, and each one out of order.
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      for (const fragment of [a[a.length - 1 - i], b[i]]) {
        const whole = fragment && reader.add(TOPIC, fragment);
        if (whole) done.push(whole);
      }
    }
    expect(done.map(bytesToHex).sort()).toEqual([bytesToHex(first), bytesToHex(second)].sort());
  });

  it('does not take a frame or a letter (version byte 1) for a fragment', () => {
    expect(isFragment(Uint8Array.of(1, 2, ...randomBytes(40)))).toBe(false);
    expect(isFragment(handMade(1, 0, 2, randomBytes(3)))).toBe(true);
  });
});

describe('FragmentAssembler', () => {
  const piece = (fill: number, length = MIN_PIECE_BYTES) => new Uint8Array(length).fill(fill);

  it('ignores a repeated fragment (a QoS 1 redelivery) and still completes the message once', () => {
    const message = randomBytes(5000);
    const [first, second] = splitIntoFragments(message, 3000);
    const reader = assembler();
    expect(reader.add(TOPIC, first!)).toBeUndefined();
    expect(reader.add(TOPIC, first!)).toBeUndefined();
    expect(bytesToHex(reader.add(TOPIC, second!)!)).toBe(bytesToHex(message));
    expect(reader.pendingBytes).toBe(0);
    expect(reader.pendingMessages).toBe(0);
  });

  it('keeps the same id on two topics apart', () => {
    const reader = assembler();
    expect(reader.add('a', handMade(7, 0, 2, piece(1)))).toBeUndefined();
    expect(reader.add('b', handMade(7, 1, 2, Uint8Array.of(2)))).toBeUndefined();
    const whole = reader.add('a', handMade(7, 1, 2, Uint8Array.of(3)))!;
    expect(whole.length).toBe(MIN_PIECE_BYTES + 1);
    expect([whole[0], whole.at(-1)]).toEqual([1, 3]);
  });

  it('refuses malformed fragments with CHANNEL_BAD_FRAME', () => {
    const reader = assembler({ maxMessageBytes: 600 });
    badFrame(() => reader.add(TOPIC, handMade(1, 2, 2, piece(1))));
    badFrame(() => reader.add(TOPIC, handMade(1, 0, 0, piece(1))));
    badFrame(() => reader.add(TOPIC, handMade(1, 1, 2, new Uint8Array(0))));
    badFrame(() => reader.add(TOPIC, Uint8Array.of(1, 2, 3)));
    // Tiny pieces before the last, and more pieces than a message of maxMessageBytes can have.
    expect(badFrame(() => reader.add(TOPIC, handMade(1, 0, 2, Uint8Array.of(1)))).details).toMatch(/at least 256/);
    expect(badFrame(() => reader.add(TOPIC, handMade(1, 0, 4, piece(1)))).details).toMatch(/at most 3/);
    // Two fragments of one message that disagree on the count: the message is dropped.
    expect(reader.add(TOPIC, handMade(2, 0, 3, piece(1)))).toBeUndefined();
    expect(badFrame(() => reader.add(TOPIC, handMade(2, 1, 2, piece(1)))).details).toMatch(/count/);
    expect(reader.pendingBytes).toBe(0);
    // More than maxMessageBytes put together: dropped.
    expect(reader.add(TOPIC, handMade(3, 0, 3, piece(1, 300)))).toBeUndefined();
    expect(badFrame(() => reader.add(TOPIC, handMade(3, 1, 3, piece(1, 301)))).details).toMatch(/exceed 600 bytes/);
    expect(reader.pendingBytes).toBe(0);
    expect(reader.pendingMessages).toBe(0);
  });

  it('counts what it holds with its bookkeeping, and keeps within maxPending and maxPendingBytes by dropping the oldest', () => {
    const reader = assembler({ maxPending: 3, maxPendingBytes: 1 << 20 });
    for (let id = 0; id < 10; id++) expect(reader.add(TOPIC, handMade(id, 0, 2, piece(id)))).toBeUndefined();
    expect(reader.pendingMessages).toBe(3);
    expect(reader.pendingBytes).toBeGreaterThan(3 * MIN_PIECE_BYTES);
    // The oldest ones are gone: their second halves start new messages that wait in turn.
    expect(reader.add(TOPIC, handMade(0, 1, 2, piece(0)))).toBeUndefined();
    // The newest ones are still there.
    expect(reader.add(TOPIC, handMade(9, 1, 2, piece(9)))?.length).toBe(2 * MIN_PIECE_BYTES);

    const byBytes = assembler({ maxPending: 100, maxPendingBytes: 2000 });
    for (let id = 0; id < 20; id++) byBytes.add(TOPIC, handMade(id, 0, 2, piece(id)));
    expect(byBytes.pendingBytes).toBeLessThanOrEqual(2000);
    expect(byBytes.pendingMessages).toBeLessThan(20);
  });

  it('holds little for a flood of pieces: the count of pieces is bounded by the smallest piece', () => {
    const reader = assembler({ maxMessageBytes: MAX_FRAME_BYTES });
    // A message may not announce 65,535 pieces...
    expect(badFrame(() => reader.add(TOPIC, handMade(1, 0, 0xffff, piece(1)))).details).toMatch(/pieces/);
    // ...and 64 messages of one piece each cost what they hold plus bookkeeping, within the default limits.
    for (let id = 0; id < 64; id++) reader.add(TOPIC, handMade(id, 0, 100, piece(id)));
    expect(reader.pendingMessages).toBe(64);
    expect(reader.pendingBytes).toBeLessThanOrEqual(4 * MAX_FRAME_BYTES);
  });

  it('forgets an unfinished message after its time to live, also when no further fragment comes', async () => {
    let time = 0;
    const reader = assembler({ ttlMs: 1000, now: () => time });
    expect(reader.add(TOPIC, handMade(1, 0, 2, piece(1)))).toBeUndefined();
    time = 1001;
    expect(reader.add(TOPIC, handMade(2, 0, 2, piece(1)))).toBeUndefined();
    expect(reader.pendingMessages).toBe(1);
    expect(reader.add(TOPIC, handMade(1, 1, 2, Uint8Array.of(2)))).toBeUndefined();

    const timed = assembler({ ttlMs: 50 });
    expect(timed.add(TOPIC, handMade(3, 0, 2, piece(1)))).toBeUndefined();
    expect(timed.pendingMessages).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(timed.pendingMessages).toBe(0);
    expect(timed.pendingBytes).toBe(0);
  });
});
