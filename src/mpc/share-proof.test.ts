import { describe, expect, it } from 'vitest';
import { randomBytes } from './bytes.js';
import { keyPublicInfo } from './dkg.js';
import type { KeyShare } from './keyshare.js';
import { runDkg, runRefresh } from './local-runner.js';
import { proveSharePossession, sharePossessionContext, verifySharePossession } from './share-proof.js';

const { shares } = runDkg([1, 2, 3]);
const [device, cosigner, backup] = shares as [KeyShare, KeyShare, KeyShare];
const key = keyPublicInfo(cosigner);
const context = sharePossessionContext(randomBytes(32), 'wallet', 'device');

describe('proof of possession of a key share', () => {
  it('verifies for the share it was made with, for that party and context', () => {
    expect(verifySharePossession(key, 3, proveSharePossession(backup, context), context)).toBe(true);
  });

  it('fails for another party, another context, another key or generation, and any flipped byte', () => {
    const proof = proveSharePossession(backup, context);
    expect(verifySharePossession(key, 1, proof, context)).toBe(false);
    expect(verifySharePossession(key, 3, proof, sharePossessionContext(randomBytes(32), 'wallet', 'device'))).toBe(false);
    expect(verifySharePossession(keyPublicInfo(runDkg([1, 2, 3]).shares[1]!), 3, proof, context)).toBe(false);
    const refreshed = runRefresh(shares).shares[1]!;
    expect(verifySharePossession(keyPublicInfo(refreshed), 3, proof, context)).toBe(false);
    for (let i = 0; i < proof.length; i += 7) {
      const flipped = proof.slice();
      flipped[i]! ^= 0x01;
      expect(verifySharePossession(key, 3, flipped, context)).toBe(false);
    }
  });

  it('a share of another party cannot prove the backup, nor can junk of any length', () => {
    expect(verifySharePossession(key, 3, proveSharePossession(device, context), context)).toBe(false);
    for (const junk of [new Uint8Array(0), randomBytes(65), randomBytes(64), randomBytes(66), new Uint8Array(65)]) expect(verifySharePossession(key, 3, junk, context)).toBe(false);
    expect(verifySharePossession(key, 4, proveSharePossession(backup, context), context)).toBe(false);
  });
});
