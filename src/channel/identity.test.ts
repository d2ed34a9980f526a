import { describe, expect, it } from 'vitest';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { Identity, deviceIdFromPublicKey, parsePublicKey, verifyIdentitySignature } from './identity.js';
import { DEVICE_ID_PATTERN, deviceClientId } from './topics.js';
import { isChannelError } from './errors.js';

const message = new TextEncoder().encode('transcript bytes');

describe('Identity', () => {
  it('has a 33-byte compressed public key and a device id that fits the topic pattern', () => {
    const identity = Identity.generate();
    expect(identity.publicKey).toHaveLength(33);
    expect([2, 3]).toContain(identity.publicKey[0]);
    expect(identity.deviceId).toMatch(DEVICE_ID_PATTERN);
    expect(deviceClientId(identity.deviceId)).toBe(`d-${identity.deviceId}`);
    expect(deviceIdFromPublicKey(identity.publicKeyHex)).toBe(identity.deviceId);
    expect(Identity.generate().deviceId).not.toBe(identity.deviceId);
  });

  it('round-trips through its secret key as bytes and as hex', () => {
    const identity = Identity.generate();
    const fromHex = Identity.fromSecretKey(identity.exportSecretKeyHex());
    const fromBytes = Identity.fromSecretKey(identity.exportSecretKey());
    expect(fromHex.publicKeyHex).toBe(identity.publicKeyHex);
    expect(fromBytes.deviceId).toBe(identity.deviceId);
  });

  it('refuses secret keys that are not in (0, n) or not 32 bytes', () => {
    for (const bad of ['00'.repeat(32), 'ff'.repeat(32), 'ab'.repeat(31), 'zz'.repeat(32)]) {
      expect(() => Identity.fromSecretKey(bad)).toThrow(expect.objectContaining({ code: 'CHANNEL_INVALID_ARGUMENT' }));
    }
  });

  it('signs with domain separation: a hello signature never verifies as an accept or status', () => {
    const identity = Identity.generate();
    const signature = identity.sign('hello', message);
    expect(signature).toHaveLength(64);
    expect(verifyIdentitySignature(identity.publicKey, 'hello', message, signature)).toBe(true);
    expect(verifyIdentitySignature(identity.publicKey, 'accept', message, signature)).toBe(false);
    expect(verifyIdentitySignature(identity.publicKey, 'status', message, signature)).toBe(false);
    expect(verifyIdentitySignature(Identity.generate().publicKey, 'hello', message, signature)).toBe(false);
    const altered = message.slice();
    altered[0]! ^= 1;
    expect(verifyIdentitySignature(identity.publicKey, 'hello', altered, signature)).toBe(false);
  });

  it('refuses a high-s twin of a valid signature', () => {
    const identity = Identity.generate();
    const signature = identity.sign('hello', message);
    const parsed = secp256k1.Signature.fromBytes(signature, 'compact');
    const highS = new secp256k1.Signature(parsed.r, secp256k1.Point.Fn.ORDER - parsed.s).toBytes('compact');
    expect(verifyIdentitySignature(identity.publicKey, 'hello', message, highS)).toBe(false);
  });

  it('computes the same static secret on both sides', () => {
    const a = Identity.generate();
    const b = Identity.generate();
    expect(a.staticSecretWith(b.publicKey)).toEqual(b.staticSecretWith(a.publicKey));
    expect(a.staticSecretWith(b.publicKey)).toHaveLength(32);
  });

  it('validates public keys', () => {
    const identity = Identity.generate();
    expect(parsePublicKey(identity.publicKeyHex)).toEqual(identity.publicKey);
    const offCurve = identity.publicKey.slice();
    offCurve[0] = 4;
    let error: unknown;
    try {
      parsePublicKey(offCurve);
    } catch (caught) {
      error = caught;
    }
    expect(isChannelError(error, 'CHANNEL_INVALID_ARGUMENT')).toBe(true);
  });

  it('is unusable after destroy', () => {
    const identity = Identity.generate();
    identity.destroy();
    expect(() => identity.sign('hello', message)).toThrow(expect.objectContaining({ code: 'CHANNEL_CLOSED' }));
  });
});
