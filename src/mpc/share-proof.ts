/**
 * Proof that a party holds its key share (x_i for the recorded X_i), shown to a dealer of a
 * re-sharing BEFORE that dealer starts. Round 2 of a re-sharing carries the dealer's evaluations
 * f(j) to every other party, and a peer that runs two of them (a restore runs the new device and
 * the backup side by side) can interpolate the dealer's constant term λ·x from them. The proofs
 * inside the protocol come too late to prevent that, so the co-signer asks for this one first.
 */
import { PayloadReader, PayloadWriter } from './codec.js';
import { pointFromBytes } from './curve.js';
import type { KeyPublicInfo } from './dkg.js';
import { taggedHash, type TranscriptPart } from './hash.js';
import type { KeyShare } from './keyshare.js';
import { proveDlog, readDlogProof, verifyDlog, writeDlogProof } from './schnorr.js';

/** Binds a proof to what it is for (session, wallet, device, generation): it cannot serve anywhere else. */
export function sharePossessionContext(...parts: TranscriptPart[]): Uint8Array {
  return taggedHash('share-possession/context', ...parts);
}

export function proveSharePossession(share: KeyShare, context: Uint8Array): Uint8Array {
  const publicShare = pointFromBytes(share.publicShares[share.partyId]!);
  const writer = new PayloadWriter();
  writeDlogProof(writer, proveDlog(share.secretShare, publicShare, taggedHash('share-possession', context, share.keyId, share.generation, share.partyId)));
  return writer.finish();
}

/** True only for a well-formed proof of x_partyId for this key's recorded public share, in this context. */
export function verifySharePossession(key: KeyPublicInfo, partyId: number, proof: Uint8Array, context: Uint8Array): boolean {
  const recorded = key.publicShares[partyId];
  if (!(recorded instanceof Uint8Array)) return false;
  try {
    const reader = new PayloadReader(proof);
    const parsed = readDlogProof(reader);
    reader.end();
    return verifyDlog(parsed, pointFromBytes(recorded), taggedHash('share-possession', context, key.keyId, key.generation, partyId));
  } catch {
    // Off-curve points, out-of-range scalars, wrong lengths: not a proof.
    return false;
  }
}
