import { describe, expect, it } from 'vitest';
import { bytesToHex, randomBytes } from '../mpc/bytes.js';
import { isChannelError } from './errors.js';
import {
  DATA_HEADER_BYTES,
  MAX_BODY_BYTES,
  MAX_FRAME_BYTES,
  decodeFrame,
  encodeAccept,
  encodeDataHeader,
  encodeHello,
  encodeStatus,
  peekSession,
  signedPart,
} from './frame.js';
import { Identity } from './identity.js';

const identity = Identity.generate();
const ephemeral = Identity.generate();
const walletId = bytesToHex(randomBytes(16));
const sessionId = bytesToHex(randomBytes(16));
const sign = (signed: Uint8Array) => identity.sign('hello', signed);

function hello(): Uint8Array {
  return encodeHello(
    { walletId, sessionId, fromRole: 'device', toRole: 'cosigner', identityKey: identity.publicKey, ephemeralKey: ephemeral.publicKey, expiresAt: 1_900_000_000_000 },
    sign,
  );
}
function accept(instance = ''): Uint8Array {
  return encodeAccept({ walletId, sessionId, fromRole: 'cosigner', identityKey: identity.publicKey, ephemeralKey: ephemeral.publicKey, instance }, sign);
}
function data(ciphertextLength = 40): Uint8Array {
  const header = encodeDataHeader(
    { walletId, sessionId, fromRole: 'device', round: 7, seq: 3, expiresAt: 1_900_000_000_000, nonce: randomBytes(12) },
    ciphertextLength,
  );
  const out = new Uint8Array(header.length + ciphertextLength);
  out.set(header);
  out.set(randomBytes(ciphertextLength), header.length);
  return out;
}
function status(): Uint8Array {
  return encodeStatus({ state: 'online', startedAt: 1_800_000_000_000, connection: 2, issuedAt: 1_800_000_001_000, heartbeatMs: 5000, instance: 'cs-1' }, sign);
}

function expectBadFrame(bytes: Uint8Array): void {
  let error: unknown;
  try {
    decodeFrame(bytes);
  } catch (caught) {
    error = caught;
  }
  expect(isChannelError(error, 'CHANNEL_BAD_FRAME'), `expected CHANNEL_BAD_FRAME, got ${String(error)}`).toBe(true);
}

describe('frame codec', () => {
  it('round-trips every frame type field by field', () => {
    const h = decodeFrame(hello());
    expect(h).toMatchObject({ type: 'hello', walletId, sessionId, fromRole: 'device', toRole: 'cosigner', expiresAt: 1_900_000_000_000 });
    if (h.type !== 'hello') throw new Error('type');
    expect(h.identityKey).toEqual(identity.publicKey);
    expect(h.ephemeralKey).toEqual(ephemeral.publicKey);
    expect(signedPart(h)).toHaveLength(h.bytes.length - 64);

    expect(decodeFrame(accept('cs-7'))).toMatchObject({ type: 'accept', walletId, sessionId, fromRole: 'cosigner', instance: 'cs-7' });
    expect(decodeFrame(accept())).toMatchObject({ type: 'accept', instance: '' });

    const d = decodeFrame(data(40));
    expect(d).toMatchObject({ type: 'data', walletId, sessionId, fromRole: 'device', round: 7, seq: 3, expiresAt: 1_900_000_000_000 });
    if (d.type !== 'data') throw new Error('type');
    expect(d.ciphertext).toHaveLength(40);
    expect(d.header).toHaveLength(DATA_HEADER_BYTES);

    expect(decodeFrame(status())).toMatchObject({ type: 'status', state: 'online', startedAt: 1_800_000_000_000, connection: 2, issuedAt: 1_800_000_001_000, heartbeatMs: 5000, instance: 'cs-1' });
  });

  it('rejects every truncation of every frame type', () => {
    for (const frame of [hello(), accept('cs-7'), data(), status()]) {
      for (let length = 0; length < frame.length; length++) expectBadFrame(frame.subarray(0, length));
    }
  });

  it('rejects trailing bytes', () => {
    for (const frame of [hello(), accept(), data(), status()]) {
      const longer = new Uint8Array(frame.length + 1);
      longer.set(frame);
      expectBadFrame(longer);
    }
  });

  it('rejects an unknown version, type, role or state', () => {
    const versions = hello();
    versions[0] = 2;
    expectBadFrame(versions);
    const type = hello();
    type[1] = 9;
    expectBadFrame(type);
    const role = hello();
    role[34] = 3;
    expectBadFrame(role);
    const sameRoles = hello();
    sameRoles[35] = sameRoles[34]!;
    expectBadFrame(sameRoles);
    const state = status();
    state[2] = 3;
    expectBadFrame(state);
  });

  it('rejects keys that are not points on the curve', () => {
    const frame = hello();
    frame[36] = 4;
    expectBadFrame(frame);
  });

  it('rejects an instance id with characters that could be MQTT separators', () => {
    const frame = accept('abcd');
    const instanceOffset = frame.length - 64 - 4;
    frame[instanceOffset] = '/'.charCodeAt(0);
    expectBadFrame(frame);
    expect(() => accept('a/b')).toThrow(expect.objectContaining({ code: 'CHANNEL_BAD_FRAME' }));
  });

  it('rejects a data frame whose length prefix disagrees with its size', () => {
    const frame = data(40);
    new DataView(frame.buffer).setUint32(DATA_HEADER_BYTES - 4, 41);
    expectBadFrame(frame);
    new DataView(frame.buffer).setUint32(DATA_HEADER_BYTES - 4, 8);
    expectBadFrame(frame);
  });

  it('rejects oversize frames and caps the body', () => {
    expectBadFrame(new Uint8Array(MAX_FRAME_BYTES + 1));
    expect(decodeFrame(data(MAX_BODY_BYTES + 16)).type).toBe('data');
    expect(() => data(MAX_BODY_BYTES + 17)).toThrow(expect.objectContaining({ code: 'CHANNEL_BAD_FRAME' }));
    const lying = data(40);
    new DataView(lying.buffer).setUint32(DATA_HEADER_BYTES - 4, MAX_BODY_BYTES + 17);
    expectBadFrame(lying);
  });

  it('peeks the wallet and session of a frame it cannot decode', () => {
    const frame = data();
    frame[0] = 99;
    expectBadFrame(frame);
    expect(peekSession(frame)).toEqual({ walletId, sessionId });
    expect(peekSession(frame.subarray(0, 10))).toBeUndefined();
  });
});
