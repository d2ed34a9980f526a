import { describe, expect, it } from 'vitest';
import { randomBytes } from './bytes.js';
import { Fn, G, Point } from './curve.js';
import { DkgParty, keyPublicInfo } from './dkg.js';
import { InvalidArgumentError, PartyClosedError, ProtocolAbortError } from './errors.js';
import { keyShareAddress, type KeyShare } from './keyshare.js';
import { deliverAll, runDkg, runRefresh, runReshare, runSign } from './local-runner.js';
import { lagrangeAtZero } from './polynomial.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { numberToBytesBE } from '@noble/curves/utils.js';

function combinesToKey(a: KeyShare, b: KeyShare, publicKey: Uint8Array): boolean {
  const signers = [a.partyId, b.partyId];
  const secret = Fn.add(Fn.mul(lagrangeAtZero(a.partyId, signers), a.secretShare), Fn.mul(lagrangeAtZero(b.partyId, signers), b.secretShare));
  return G.multiply(secret).equals(Point.fromBytes(publicKey));
}

function signsFor(shares: KeyShare[], publicKey: Uint8Array): boolean {
  const digest = randomBytes(32);
  const { signature } = runSign(shares, digest);
  const compact = new Uint8Array([...numberToBytesBE(signature.r, 32), ...numberToBytesBE(signature.s, 32)]);
  return secp256k1.verify(compact, digest, publicKey, { prehash: false, lowS: true });
}

const [device, cosigner, backup] = runDkg([1, 2, 3]).shares as [KeyShare, KeyShare, KeyShare];

describe('restore: co-signer and backup re-share to a new device', () => {
  const restored = runReshare([cosigner, backup], [1, 2, 3]).shares;
  const [newDevice, newCosigner, newBackup] = [1, 2, 3].map((id) => restored.get(id)!) as [KeyShare, KeyShare, KeyShare];

  it('keeps the key, address, key id and chain code, and moves every party to the next generation', () => {
    for (const share of [newDevice, newCosigner, newBackup]) {
      expect(keyShareAddress(share)).toBe(keyShareAddress(device));
      expect(share.keyId).toBe(device.keyId);
      expect(share.chainCode).toEqual(device.chainCode);
      expect(share.generation).toBe(1);
      expect(share.publicShares).toEqual(newDevice.publicShares);
    }
  });

  it('gives every pair of new shares a working signature', () => {
    for (const pair of [[newDevice, newCosigner], [newDevice, newBackup], [newCosigner, newBackup]]) expect(signsFor(pair, device.publicKey)).toBe(true);
  });

  it('leaves the old device and old backup shares useless with the new ones', () => {
    for (const share of [newDevice, newCosigner, newBackup]) expect(share.secretShare).not.toBe([device, cosigner, backup][share.partyId - 1]!.secretShare);
    expect(combinesToKey(device, newCosigner, device.publicKey)).toBe(false);
    expect(combinesToKey(backup, newCosigner, device.publicKey)).toBe(false);
    expect(combinesToKey(device, newBackup, device.publicKey)).toBe(false);
    expect(() => runSign([device, newCosigner], randomBytes(32))).toThrow(ProtocolAbortError);
    expect(newDevice.pairs[2]!.asSender.delta).not.toEqual(device.pairs[2]!.asSender.delta);
  });

  it('refreshes the restored wallet afterwards like any other', () => {
    const refreshed = runRefresh([newDevice, newCosigner, newBackup]).shares;
    expect(refreshed.every((share) => share.generation === 2)).toBe(true);
    expect(signsFor([refreshed[0]!, refreshed[1]!], device.publicKey)).toBe(true);
  });
});

describe('upgrading a 2-of-2 wallet to 2-of-3', () => {
  it('device and co-signer deal the same key to three parties; device + backup then sign', () => {
    const [a, b] = runDkg([1, 2]).shares as [KeyShare, KeyShare];
    const upgraded = runReshare([a, b], [1, 2, 3]).shares;
    const shares = [1, 2, 3].map((id) => upgraded.get(id)!);
    for (const share of shares) {
      expect(share.parties).toEqual([1, 2, 3]);
      expect(keyShareAddress(share)).toBe(keyShareAddress(a));
    }
    expect(signsFor([shares[0]!, shares[2]!], a.publicKey)).toBe(true);
  });
});

describe('a re-sharing is authenticated by the dealers\' shares', () => {
  it('a backup that does not hold its share (a wrong secret under the right public data) is caught in round 2, culprit 3, by everyone', () => {
    const forged: KeyShare = { ...backup, secretShare: Fn.add(backup.secretShare, 1n) };
    const session = randomBytes(32);
    const key = keyPublicInfo(cosigner);
    const parties = [
      DkgParty.reshare({ session, partyId: 1, parties: [1, 2, 3], dealers: [2, 3], key }),
      DkgParty.reshare({ session, partyId: 2, parties: [1, 2, 3], dealers: [2, 3], key, share: cosigner }),
      DkgParty.reshare({ session, partyId: 3, parties: [1, 2, 3], dealers: [2, 3], key, share: forged }),
    ];
    let caught: ProtocolAbortError | undefined;
    try {
      deliverAll(parties, parties.flatMap((party) => party.start()));
    } catch (error) {
      caught = error as ProtocolAbortError;
    }
    expect(caught).toBeInstanceOf(ProtocolAbortError);
    expect(caught).toMatchObject({ protocol: 'reshare', round: 2, reason: 'public-key-mismatch', culprit: 3 });
    expect(parties.some((party) => party.status === 'finished')).toBe(false);
  });

  it("a kit of another wallet: the co-signer's party aborts and stores nothing", () => {
    const other = runDkg([1, 2, 3]).shares[2]!;
    const session = randomBytes(32);
    const theirs = keyPublicInfo(other);
    const cosignerParty = DkgParty.reshare({ session, partyId: 2, parties: [1, 2, 3], dealers: [2, 3], key: keyPublicInfo(cosigner), share: cosigner });
    const local = [
      DkgParty.reshare({ session, partyId: 1, parties: [1, 2, 3], dealers: [2, 3], key: theirs }),
      DkgParty.reshare({ session, partyId: 3, parties: [1, 2, 3], dealers: [2, 3], key: theirs, share: other }),
    ];
    const results = new Map<number, KeyShare>();
    const routed = [cosignerParty, ...local].map((party) => ({
      partyId: party.partyId,
      receive: (message: Parameters<typeof party.receive>[0]) => {
        if (party.status !== 'running') return { outgoing: [] };
        try {
          const step = party.receive(message);
          if (step.result) results.set(party.partyId, step.result);
          return step;
        } catch (error) {
          if (party === cosignerParty) throw error;
          return { outgoing: [] };
        }
      },
    }));
    expect(() => deliverAll(routed, [cosignerParty, ...local].flatMap((party) => party.start()))).toThrow(ProtocolAbortError);
    expect(cosignerParty.status).toBe('aborted');
    expect(results.has(2)).toBe(false);
    expect(() => cosignerParty.receive({ version: 1, protocol: 'reshare', session: '00'.repeat(32), from: 1, to: 2, round: 1, payload: new Uint8Array(0) })).toThrow(PartyClosedError);
  });

  it('refuses bad set-ups before any message: a non-dealer with a share, a dealer without, a share of another generation, one dealer', () => {
    const session = randomBytes(32);
    const key = keyPublicInfo(cosigner);
    expect(() => DkgParty.reshare({ session, partyId: 1, parties: [1, 2, 3], dealers: [2, 3], key, share: device })).toThrow(InvalidArgumentError);
    expect(() => DkgParty.reshare({ session, partyId: 3, parties: [1, 2, 3], dealers: [2, 3], key })).toThrow(InvalidArgumentError);
    const refreshedBackup = runRefresh([device, cosigner, backup]).shares[2]!;
    expect(() => DkgParty.reshare({ session, partyId: 3, parties: [1, 2, 3], dealers: [2, 3], key, share: refreshedBackup })).toThrow(/not a share of the key/);
    expect(() => DkgParty.reshare({ session, partyId: 2, parties: [1, 2, 3], dealers: [2], key, share: cosigner })).toThrow(InvalidArgumentError);
    expect(() => DkgParty.reshare({ session, partyId: 2, parties: [1, 2], dealers: [2, 3], key, share: cosigner })).toThrow(InvalidArgumentError);
  });
});
