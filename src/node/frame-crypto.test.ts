import { describe, expect, it } from 'vitest';
import { webFrameCrypto } from '../channel/frame-crypto.js';
import { ChannelError } from '../channel/errors.js';
import { Identity } from '../channel/identity.js';
import { ChannelSession } from '../channel/session.js';
import { bytesToHex, randomBytes } from '../mpc/bytes.js';
import { nodeFrameCrypto } from './frame-crypto.js';

const SIZES = [0, 1, 15, 16, 17, 255, 4096, 55_000];

describe('nodeFrameCrypto gives the bytes webFrameCrypto gives', () => {
  it.each(SIZES)('AES-256-GCM, %i bytes: same ciphertext and tag, and each opens the other', async (size) => {
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    const additionalData = randomBytes(83);
    const plaintext = randomBytes(size);
    const fromNode = await nodeFrameCrypto.sealAesGcm(key, nonce, additionalData, plaintext);
    const fromWeb = await webFrameCrypto.sealAesGcm(key, nonce, additionalData, plaintext);
    expect(bytesToHex(fromNode)).toBe(bytesToHex(fromWeb));
    expect(fromNode.length).toBe(size + 16);
    expect(bytesToHex(await nodeFrameCrypto.openAesGcm(key, nonce, additionalData, fromWeb))).toBe(bytesToHex(plaintext));
    expect(bytesToHex(await webFrameCrypto.openAesGcm(key, nonce, additionalData, fromNode))).toBe(bytesToHex(plaintext));
  });

  it.each(SIZES)('HMAC-SHA256 over parts and SHA-256, %i bytes', async (size) => {
    const key = randomBytes(32);
    const body = randomBytes(size);
    const parts = [randomBytes(4), randomBytes(8), body];
    expect(bytesToHex(await nodeFrameCrypto.hmacSha256(key, parts))).toBe(bytesToHex(await webFrameCrypto.hmacSha256(key, parts)));
    expect(bytesToHex(await nodeFrameCrypto.sha256(body))).toBe(bytesToHex(await webFrameCrypto.sha256(body)));
  });

  it('refuses a sealed message with any byte altered, a wrong nonce or wrong additional data', async () => {
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    const additionalData = randomBytes(40);
    const sealed = await nodeFrameCrypto.sealAesGcm(key, nonce, additionalData, randomBytes(300));
    for (const index of [0, 150, sealed.length - 17, sealed.length - 16, sealed.length - 1]) {
      const altered = sealed.slice();
      altered[index]! ^= 0x01;
      await expect(nodeFrameCrypto.openAesGcm(key, nonce, additionalData, altered)).rejects.toThrow();
    }
    const otherNonce = nonce.slice();
    otherNonce[0]! ^= 0x80;
    await expect(nodeFrameCrypto.openAesGcm(key, otherNonce, additionalData, sealed)).rejects.toThrow();
    await expect(nodeFrameCrypto.openAesGcm(key, nonce, additionalData.subarray(1), sealed)).rejects.toThrow();
    await expect(nodeFrameCrypto.openAesGcm(key, nonce, additionalData, sealed.subarray(0, 15))).rejects.toThrow();
  });
});

describe('a session on node:crypto talks to one on Web Crypto', () => {
  const device = Identity.generate();
  const cosigner = Identity.generate();
  const walletId = bytesToHex(randomBytes(16));

  async function pair() {
    const { session: onWeb, hello } = ChannelSession.initiate({ identity: device, peerIdentity: cosigner.publicKey, walletId, localRole: 'device', peerRole: 'cosigner', expiresAt: Date.now() + 60_000 });
    const { session: onNode, accept } = ChannelSession.respond({ identity: cosigner, peerIdentity: device.publicKey, hello, localRole: 'cosigner', frameCrypto: nodeFrameCrypto });
    expect(await onWeb.receive(accept)).toEqual({ kind: 'established' });
    return { onWeb, onNode };
  }

  it('carries messages both ways, and tells a redelivery from a replay', async () => {
    const { onWeb, onNode } = await pair();
    for (const size of [0, 700, 55_000]) {
      const toCosigner = randomBytes(size);
      const frame = await onWeb.seal(1, toCosigner);
      const received = await onNode.receive(frame);
      expect(received).toMatchObject({ kind: 'message', round: 1 });
      expect(bytesToHex((received as { body: Uint8Array }).body)).toBe(bytesToHex(toCosigner));
      expect(await onNode.receive(frame)).toEqual({ kind: 'duplicate' });

      const toDevice = randomBytes(size);
      const reply = await onNode.seal(2, toDevice);
      expect(bytesToHex(((await onWeb.receive(reply)) as { body: Uint8Array }).body)).toBe(bytesToHex(toDevice));
    }
  });

  it('refuses a tampered frame with CHANNEL_TAMPERED and ends the session', async () => {
    const { onWeb, onNode } = await pair();
    const frame = await onWeb.seal(1, randomBytes(1000));
    frame[frame.length - 100]! ^= 0x04;
    const error = await onNode.receive(frame).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ChannelError);
    expect((error as ChannelError).code).toBe('CHANNEL_TAMPERED');
    await expect(onNode.seal(1, randomBytes(10))).rejects.toMatchObject({ code: 'CHANNEL_SESSION_DEAD' });
  });
});
