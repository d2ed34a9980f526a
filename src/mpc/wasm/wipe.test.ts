import { describe, expect, it } from 'vitest';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '../bytes.js';
import { taggedHash } from '../hash.js';
import { KeyedBlake3 } from '../prf.js';
import { mulAlice, mulBobFinish, mulBobStart } from '../multiply.js';
import { baseOtReceive, baseOtSenderFinish, baseOtSenderStart } from '../ot/base.js';
import { randomScalar } from '../curve.js';
import { pointEngine } from './engine.js';
import { Sha256 } from './sha256.js';

const engine = pointEngine();

/** Whether the first 16 bytes of `secret` occur anywhere in the module's memory. */
function inMemory(secret: Uint8Array): boolean {
  const needle = secret.subarray(0, 16);
  const memory = engine.bytes;
  outer: for (let at = memory.indexOf(needle[0]!); at >= 0; at = memory.indexOf(needle[0]!, at + 1)) {
    for (let i = 1; i < needle.length; i++) if (memory[at + i] !== needle[i]) continue outer;
    return true;
  }
  return false;
}

describe("the module's memory after hashing secrets", () => {
  it('holds neither the input nor the digest of a transcript hash', () => {
    const secret = randomBytes(200);
    const digest = taggedHash('test/wipe', secret);
    expect(inMemory(secret)).toBe(false);
    expect(inMemory(secret.subarray(150))).toBe(false);
    expect(inMemory(digest)).toBe(false);
  });

  it('holds neither the key, the input nor the output of a keyed BLAKE3 call', () => {
    const key = randomBytes(32);
    const input = randomBytes(48);
    const out = new Uint8Array(256);
    new KeyedBlake3(key).xofInto(input, out);
    expect(inMemory(key)).toBe(false);
    expect(inMemory(input)).toBe(false);
    expect(inMemory(out)).toBe(false);
    expect(inMemory(out.subarray(192))).toBe(false);
  });

  it('hashes bytes that lie in the module memory itself correctly', () => {
    const at = engine.allocate(41_000);
    engine.bytes.set(randomBytes(41_000), at);
    const view = engine.bytes.subarray(at, at + 41_000);
    expect(new Sha256().update(view).digest()).toEqual(sha256(view));
  });

  it("holds no OT row of either side after a multiplication, nor the row key", () => {
    const context = randomBytes(32);
    const start = baseOtSenderStart(context);
    const received = baseOtReceive(context, start.message);
    const bobSetup = baseOtSenderFinish(context, start.state, received.message);
    const binding = randomBytes(32);
    const rowKey = randomBytes(32);
    const bob = mulBobStart(bobSetup, binding);
    const alice = mulAlice({ delta: received.delta, seeds: received.seeds }, binding, rowKey, [randomScalar(), randomScalar()], bob.message);
    mulBobFinish(bob.state, rowKey, alice.message);
    expect(inMemory(rowKey)).toBe(false);
    for (let j = 0; j < 416; j += 37) expect(inMemory(bob.state.rows.subarray(16 * j, 16 * j + 16))).toBe(false);
  });
});
