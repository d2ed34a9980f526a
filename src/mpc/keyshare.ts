import { publicKeyToAddress } from 'viem/accounts';
import { bytesToHex } from './bytes.js';
import { InvalidArgumentError } from './errors.js';
import { Point } from './curve.js';
import type { OtReceiverSetup, OtSenderSetup } from './ot/params.js';
import { stateFromJson, stateToJson } from './state.js';
import { taggedHash } from './hash.js';

/** What one party holds about one other party of the wallet. */
export interface PairMaterial {
  /** Shared with that party only; seeds the zero shares that re-randomise every signing. */
  zeroSeed: Uint8Array;
  /** This party as multiplication sender (Alice) toward that party. */
  asSender: OtSenderSetup;
  /** This party as multiplication receiver (Bob) toward that party. */
  asReceiver: OtReceiverSetup;
}

/** One party's share of a threshold key: the output of DKG or refresh. Secret: store it encrypted. */
export interface KeyShare {
  version: 1;
  /** Stable across refreshes: names the key, not the sharing. */
  keyId: string;
  /** 0 after DKG, +1 per refresh. Shares of different generations do not combine. */
  generation: number;
  partyId: number;
  parties: number[];
  threshold: number;
  secretShare: bigint;
  /** Compressed group public key (33 bytes). */
  publicKey: Uint8Array;
  /** Compressed public share X_k = x_k G of every party. */
  publicShares: Record<number, Uint8Array>;
  /** For non-hardened derivation later. */
  chainCode: Uint8Array;
  pairs: Record<number, PairMaterial>;
}

export function keyShareAddress(share: Pick<KeyShare, 'publicKey'>): `0x${string}` {
  return publicKeyToAddress(`0x${bytesToHex(Point.fromBytes(share.publicKey).toBytes(false))}`);
}

/**
 * Names one sharing of the key: every party of a run derives the same public shares, and no other
 * run does (fresh polynomials), so a commit can say exactly which run it commits.
 */
export function publicSharesDigest(share: Pick<KeyShare, 'keyId' | 'generation' | 'parties' | 'publicShares'>): `0x${string}` {
  const parties = [...share.parties].sort((a, b) => a - b);
  return `0x${bytesToHex(taggedHash('key-share/public-shares', share.keyId, share.generation, ...parties.flatMap((id) => [id, share.publicShares[id] ?? new Uint8Array(0)])))}`;
}

export function exportKeyShare(share: KeyShare): string {
  return stateToJson(share);
}

export function importKeyShare(json: string): KeyShare {
  const share = stateFromJson<KeyShare>(json);
  if (share?.version !== 1 || typeof share.partyId !== 'number' || !(share.publicKey instanceof Uint8Array)) {
    throw new InvalidArgumentError('This is not a Tandem key share (version 1).');
  }
  return share;
}
