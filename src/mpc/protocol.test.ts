import { describe, expect, it } from 'vitest';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { numberToBytesBE } from '@noble/curves/utils.js';
import { recoverMessageAddress, recoverTransactionAddress, recoverTypedDataAddress, parseEther, type TypedDataDefinition } from 'viem';
import { randomBytes } from './bytes.js';
import { runDkg, runOnline, runPresign, runRefresh, runSign, deliverAll } from './local-runner.js';
import { keyShareAddress, exportKeyShare, importKeyShare, type KeyShare } from './keyshare.js';
import { payloadDigest, toViemSignature, type SignablePayload } from './ethereum.js';
import { PresignatureUsedError, PartyClosedError, ProtocolAbortError } from './errors.js';
import { Fn, G, Point } from './curve.js';
import { lagrangeAtZero } from './polynomial.js';
import { SignParty } from './sign.js';
import type { RecoverableSignature } from './ecdsa.js';

function compact(signature: RecoverableSignature): Uint8Array {
  return new Uint8Array([...numberToBytesBE(signature.r, 32), ...numberToBytesBE(signature.s, 32)]);
}

function verifies(share: KeyShare, digest: Uint8Array, signature: RecoverableSignature): boolean {
  return secp256k1.verify(compact(signature), digest, share.publicKey, { prehash: false, lowS: true });
}

/** Reconstructs the key from two shares — only tests may do this, to prove what the shares encode. */
function reconstruct(a: KeyShare, b: KeyShare): Point {
  const signers = [a.partyId, b.partyId];
  const secret = Fn.add(Fn.mul(lagrangeAtZero(a.partyId, signers), a.secretShare), Fn.mul(lagrangeAtZero(b.partyId, signers), b.secretShare));
  return G.multiply(secret);
}

const twoOfTwo = runDkg([1, 2]).shares;
const twoOfThree = runDkg([1, 2, 3]).shares;

describe('DKG', () => {
  it('gives 2-of-2 parties one public key and address, and shares that combine to it', () => {
    const [a, b] = twoOfTwo as [KeyShare, KeyShare];
    expect(a.publicKey).toEqual(b.publicKey);
    expect(keyShareAddress(a)).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(keyShareAddress(a)).toBe(keyShareAddress(b));
    expect(reconstruct(a, b).equals(Point.fromBytes(a.publicKey))).toBe(true);
    expect(a.chainCode).toEqual(b.chainCode);
    expect(a.chainCode).toHaveLength(32);
    expect(a.secretShare).not.toBe(b.secretShare);
  });

  it('gives every 2-of-3 pair shares that combine to the same key, and every party the same public shares', () => {
    const [a, b, c] = twoOfThree as [KeyShare, KeyShare, KeyShare];
    for (const [x, y] of [[a, b], [a, c], [b, c]] as const) expect(reconstruct(x, y).equals(Point.fromBytes(a.publicKey))).toBe(true);
    for (const share of twoOfThree) {
      expect(share.publicShares).toEqual(a.publicShares);
      expect(G.multiply(share.secretShare).toBytes(true)).toEqual(share.publicShares[share.partyId]);
    }
  });

  it('produces independent keys on every run', () => {
    expect(runDkg([1, 2]).shares[0]!.publicKey).not.toEqual(twoOfTwo[0]!.publicKey);
  });

  it('round-trips a key share through its export format', () => {
    const copy = importKeyShare(exportKeyShare(twoOfThree[1]!));
    expect(copy).toEqual(twoOfThree[1]);
  });
});

describe('signing', () => {
  it('2-of-2: many random digests all verify with @noble/curves and are low-s', () => {
    for (let i = 0; i < 12; i++) {
      const digest = randomBytes(32);
      const { signature } = runSign(twoOfTwo, digest);
      expect(verifies(twoOfTwo[0]!, digest, signature)).toBe(true);
      expect(signature.s <= Fn.ORDER >> 1n).toBe(true);
      const recovered = new secp256k1.Signature(signature.r, signature.s, signature.recid).recoverPublicKey(digest);
      expect(recovered.toBytes(true)).toEqual(twoOfTwo[0]!.publicKey);
    }
  });

  it('2-of-3: all three pairs sign for the same key, in either order', () => {
    const [a, b, c] = twoOfThree as [KeyShare, KeyShare, KeyShare];
    for (const pair of [[a, b], [a, c], [b, c], [c, a]]) {
      const digest = randomBytes(32);
      const { signature } = runSign(pair, digest);
      expect(verifies(a, digest, signature)).toBe(true);
    }
  });

  it('a wrong digest does not verify (the check can fail)', () => {
    const digest = randomBytes(32);
    const { signature } = runSign(twoOfTwo, digest);
    expect(verifies(twoOfTwo[0]!, randomBytes(32), signature)).toBe(false);
  });

  it('a signer whose multiplication input is not its committed nonce is caught by the consistency check', () => {
    // Party 1 follows the protocol except that, after committing to R_1 = r G, it feeds another nonce
    // r' into its multiplication: every message is well formed and Gamma is computed honestly from
    // its outputs, so only the (combined, Fiat-Shamir weighted) consistency check can catch it.
    const session = randomBytes(32);
    const [one, two] = twoOfTwo.map((share) => SignParty.create({ share, session, signers: [1, 2] })) as [SignParty, SignParty];
    const toOne = two.start();
    const toTwo = one.start();
    const state = JSON.parse(one.exportState()) as { nonceShare: { $big: string } };
    state.nonceShare = { $big: (BigInt(`0x${state.nonceShare.$big}`) + 1n).toString(16) };
    const cheater = SignParty.fromState(JSON.stringify(state));
    const round2 = cheater.receive(toOne[0]!).outgoing;
    two.receive(toTwo[0]!);
    let caught: unknown;
    try {
      two.receive(round2[0]!);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ProtocolAbortError);
    expect((caught as ProtocolAbortError).reason).toBe('consistency-check-failed');
    expect((caught as ProtocolAbortError).culprit).toBe(1);
  });

  it('the same run without the deviation passes the check (the test above can pass)', () => {
    const session = randomBytes(32);
    const [one, two] = twoOfTwo.map((share) => SignParty.create({ share, session, signers: [1, 2] })) as [SignParty, SignParty];
    const toOne = two.start();
    const toTwo = one.start();
    const restored = SignParty.fromState(one.exportState());
    const round2 = restored.receive(toOne[0]!).outgoing;
    two.receive(toTwo[0]!);
    expect(two.receive(round2[0]!).result).toEqual({ kind: 'presigned' });
  });

  it('signers that were handed different digests abort instead of releasing a signature', () => {
    const { parties } = runPresign(twoOfTwo);
    const outgoing = [...parties[0]!.signDigest(randomBytes(32)).outgoing, ...parties[1]!.signDigest(randomBytes(32)).outgoing];
    expect(() => deliverAll(parties, outgoing)).toThrow(ProtocolAbortError);
  });
});

describe('Ethereum payloads through viem', () => {
  const address = keyShareAddress(twoOfThree[0]!);
  const typedData: TypedDataDefinition = {
    domain: { name: 'Tandem Test', version: '1', chainId: 1, verifyingContract: '0x00000000000000000000000000000000000000aa' },
    types: { Mail: [{ name: 'to', type: 'address' }, { name: 'contents', type: 'string' }] },
    primaryType: 'Mail',
    message: { to: '0x00000000000000000000000000000000000000bb', contents: 'hello' },
  };
  const payloads: SignablePayload[] = [
    { kind: 'message', message: 'Sign in to Tandem' },
    { kind: 'message', message: { raw: '0xdeadbeef' } },
    { kind: 'typedData', typedData },
    { kind: 'transaction', transaction: { chainId: 31337, type: 'eip1559', to: '0x00000000000000000000000000000000000000cc', value: parseEther('0.5'), nonce: 3, gas: 21000n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n } },
    { kind: 'transaction', transaction: { chainId: 1, type: 'legacy', to: '0x00000000000000000000000000000000000000cc', value: 1n, nonce: 0, gas: 21000n, gasPrice: 1_000_000_000n } },
  ];

  it.each(payloads.map((payload, index) => [index, payload.kind, payload] as const))('payload %i (%s): each party hashes it itself and viem recovers the wallet address', async (_i, _kind, payload) => {
    for (const pair of [[twoOfThree[0]!, twoOfThree[2]!], [twoOfThree[1]!, twoOfThree[2]!]]) {
      const { parties } = runPresign(pair);
      const outgoing = parties.flatMap((party) => party.signPayload(payload).outgoing);
      const { results } = deliverAll(parties, outgoing);
      const result = results.get(pair[0]!.partyId);
      if (result?.kind !== 'signature') throw new Error('no signature');
      const signed = toViemSignature(payload, result.signature);
      const recovered =
        payload.kind === 'message'
          ? await recoverMessageAddress({ message: payload.message, signature: signed })
          : payload.kind === 'typedData'
            ? await recoverTypedDataAddress({ ...payload.typedData, signature: signed })
            : await recoverTransactionAddress({ serializedTransaction: signed as `0x02${string}` });
      expect(recovered).toBe(address);
    }
  });

  it('refuses to hash a transaction without a chain id', () => {
    expect(() => payloadDigest({ kind: 'transaction', transaction: { to: '0x00000000000000000000000000000000000000cc', value: 1n } })).toThrow(/chain id/);
  });
});

describe('refresh', () => {
  it('keeps the address and public key, and refreshed 2-of-3 pairs still sign', () => {
    const refreshed = runRefresh(twoOfThree).shares;
    expect(keyShareAddress(refreshed[0]!)).toBe(keyShareAddress(twoOfThree[0]!));
    for (const share of refreshed) expect(share.generation).toBe(1);
    for (const pair of [[refreshed[0]!, refreshed[1]!], [refreshed[1]!, refreshed[2]!]]) {
      const digest = randomBytes(32);
      expect(verifies(twoOfThree[0]!, digest, runSign(pair, digest).signature)).toBe(true);
    }
    expect(refreshed[0]!.secretShare).not.toBe(twoOfThree[0]!.secretShare);
    expect(refreshed[0]!.pairs[2]!.asSender.delta).not.toEqual(twoOfThree[0]!.pairs[2]!.asSender.delta);
  });

  it('old shares no longer combine with new ones', () => {
    const refreshed = runRefresh(twoOfTwo).shares;
    const key = Point.fromBytes(twoOfTwo[0]!.publicKey);
    expect(reconstruct(refreshed[0]!, refreshed[1]!).equals(key)).toBe(true);
    expect(reconstruct(twoOfTwo[0]!, refreshed[1]!).equals(key)).toBe(false);
    expect(reconstruct(refreshed[0]!, twoOfTwo[1]!).equals(key)).toBe(false);
    // And the protocol itself refuses to mix generations.
    expect(() => runSign([twoOfTwo[0]!, refreshed[1]!], randomBytes(32))).toThrow(ProtocolAbortError);
  });
});

describe('presignatures', () => {
  it('a presignature signs once; a second use throws', () => {
    const { parties } = runPresign(twoOfTwo);
    const digest = randomBytes(32);
    runOnline(parties, digest);
    expect(() => parties[0]!.signDigest(randomBytes(32))).toThrow();
    const { parties: fresh } = runPresign(twoOfTwo);
    fresh[0]!.signDigest(digest);
    expect(() => fresh[0]!.signDigest(randomBytes(32))).toThrow(PresignatureUsedError);
  });

  it('a presignature exported after use cannot be used again from its saved state', () => {
    const { parties } = runPresign(twoOfTwo);
    parties[0]!.signDigest(randomBytes(32));
    const restored = SignParty.fromState(parties[0]!.exportState());
    expect(() => restored.signDigest(randomBytes(32))).toThrow(PresignatureUsedError);
  });

  it('a party that aborted cannot continue', () => {
    const { parties } = runPresign(twoOfTwo);
    const outgoing = parties[0]!.signDigest(randomBytes(32)).outgoing;
    const tampered = { ...outgoing[0]!, payload: outgoing[0]!.payload.slice(1) };
    parties[1]!.signDigest(randomBytes(32));
    expect(() => parties[1]!.receive(tampered)).toThrow(ProtocolAbortError);
    expect(parties[1]!.status).toBe('aborted');
    expect(() => parties[1]!.receive(outgoing[0]!)).toThrow(PartyClosedError);
    expect(() => parties[1]!.signDigest(randomBytes(32))).toThrow(PartyClosedError);
  });
});
