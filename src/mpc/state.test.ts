import { describe, expect, it } from 'vitest';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { numberToBytesBE } from '@noble/curves/utils.js';
import { randomBytes } from './bytes.js';
import { DkgParty } from './dkg.js';
import { SignParty, type SignResult } from './sign.js';
import type { KeyShare } from './keyshare.js';
import type { ProtocolMessage } from './message.js';
import type { Step } from './party.js';

interface Restorable<R> {
  partyId: number;
  receive(message: ProtocolMessage): Step<R>;
  exportState(): string;
}

/** Delivers every message to a party freshly restored from the state its predecessor exported. */
function deliverWithRestarts<R, P extends Restorable<R>>(parties: Map<number, P>, queue: ProtocolMessage[], restore: (json: string) => P): Map<number, R> {
  const results = new Map<number, R>();
  let restarts = 0;
  while (queue.length) {
    const message = queue.shift()!;
    const restored = restore(parties.get(message.to)!.exportState());
    parties.set(message.to, restored);
    restarts++;
    const step = restored.receive(message);
    queue.push(...step.outgoing);
    if (step.result !== undefined) results.set(message.to, step.result);
  }
  expect(restarts).toBeGreaterThan(0);
  return results;
}

function dkgWithRestarts(ids: number[]): KeyShare[] {
  const session = randomBytes(32);
  const parties = new Map(ids.map((partyId) => [partyId, DkgParty.create({ session, partyId, parties: ids })]));
  const queue = [...parties.values()].flatMap((party) => party.start());
  const results = deliverWithRestarts<KeyShare, DkgParty>(parties, queue, (json) => DkgParty.fromState(json));
  return ids.map((id) => results.get(id)!);
}

describe('state export and import between every pair of rounds', () => {
  it.each([[[1, 2]], [[1, 2, 3]]])('DKG %j: restored parties finish with one key that signs', (ids) => {
    const shares = dkgWithRestarts(ids);
    expect(shares.every((share) => share !== undefined)).toBe(true);
    for (const share of shares) expect(share.publicKey).toEqual(shares[0]!.publicKey);

    // Signing, restoring before and after every message and between presigning and the online round.
    const pair = [shares[0]!, shares[ids.length - 1]!];
    const session = randomBytes(32);
    const signers = pair.map((share) => share.partyId);
    let parties = new Map(pair.map((share) => [share.partyId, SignParty.create({ share, session, signers })]));
    const presign = deliverWithRestarts<SignResult, SignParty>(parties, [...parties.values()].flatMap((party) => party.start()), (json) => SignParty.fromState(json));
    expect([...presign.values()].every((result) => result.kind === 'presigned')).toBe(true);
    parties = new Map([...parties].map(([id, party]) => [id, SignParty.fromState(party.exportState())]));
    const digest = randomBytes(32);
    const online = [...parties.values()].flatMap((party) => party.signDigest(digest).outgoing);
    const results = deliverWithRestarts<SignResult, SignParty>(parties, online, (json) => SignParty.fromState(json));
    for (const id of signers) {
      const result = results.get(id);
      if (result?.kind !== 'signature') throw new Error(`party ${id} has no signature`);
      const compact = new Uint8Array([...numberToBytesBE(result.signature.r, 32), ...numberToBytesBE(result.signature.s, 32)]);
      expect(secp256k1.verify(compact, digest, shares[0]!.publicKey, { prehash: false })).toBe(true);
    }
  });

  it('a finished DKG party keeps no secret in its exported state', () => {
    const session = randomBytes(32);
    const parties = new Map([1, 2].map((partyId) => [partyId, DkgParty.create({ session, partyId, parties: [1, 2] })]));
    const results = deliverWithRestarts<KeyShare, DkgParty>(parties, [...parties.values()].flatMap((party) => party.start()), (json) => DkgParty.fromState(json));
    const exported = parties.get(1)!.exportState();
    const share = results.get(1)!;
    expect(exported).not.toContain(share.secretShare.toString(16));
    expect(exported).not.toContain('"coefficients":[{');
  });
});
