/**
 * What two shares held in one process can do without anyone else: sign (device + backup when
 * the co-signer is gone) and reconstruct the private key (to leave Tandem). Both check first
 * that the shares belong together, so a kit of another wallet or from before a refresh gets a
 * clear error instead of a protocol abort.
 */
import { equalBytes, randomBytes } from './bytes.js';
import { Fn, G, scalarToBytes } from './curve.js';
import type { RecoverableSignature } from './ecdsa.js';
import { payloadDigest, type SignablePayload } from './ethereum.js';
import { ShareMismatchError } from './errors.js';
import { keyShareAddress, type KeyShare } from './keyshare.js';
import { deliverAll } from './local-runner.js';
import { lagrangeAtZero } from './polynomial.js';
import { SignParty, type SignResult } from './sign.js';

export function assertSharesCombine(a: KeyShare, b: KeyShare): void {
  if (!equalBytes(a.publicKey, b.publicKey) || a.keyId !== b.keyId) {
    throw new ShareMismatchError('These two shares belong to different wallets.', `${keyShareAddress(a)} and ${keyShareAddress(b)}`);
  }
  if (a.generation !== b.generation) {
    throw new ShareMismatchError(
      'These two shares are of different refreshes of the wallet: use the recovery kit issued with the latest refresh or restore.',
      `generations ${a.generation} and ${b.generation}`,
    );
  }
  if (a.partyId === b.partyId) throw new ShareMismatchError('These are two copies of the same share; signing needs two different ones.', `both party ${a.partyId}`);
}

/** Signs with both shares here: presigning and the online round run locally; the payload is hashed here. */
export function signWithLocalShares(a: KeyShare, b: KeyShare, payload: SignablePayload): { signature: RecoverableSignature; digest: Uint8Array } {
  assertSharesCombine(a, b);
  const session = randomBytes(32);
  const signers = [a.partyId, b.partyId];
  const parties = [a, b].map((share) => SignParty.create({ share, session, signers }));
  deliverAll<SignResult>(parties, parties.flatMap((party) => party.start()));
  const digest = payloadDigest(payload);
  const { results } = deliverAll<SignResult>(parties, parties.flatMap((party) => party.signDigest(digest).outgoing));
  const result = results.get(a.partyId);
  // SignParty verified the signature against the group key before releasing it.
  if (result?.kind !== 'signature') throw new ShareMismatchError('The two shares did not produce a signature.');
  return { signature: result.signature, digest };
}

/**
 * The private key itself, 32 bytes: only for a user leaving Tandem. It is checked against the
 * group key before it is returned. The caller shows it once and overwrites the bytes after.
 */
export function reconstructPrivateKey(a: KeyShare, b: KeyShare): Uint8Array {
  assertSharesCombine(a, b);
  const signers = [a.partyId, b.partyId];
  const secret = Fn.add(Fn.mul(lagrangeAtZero(a.partyId, signers), a.secretShare), Fn.mul(lagrangeAtZero(b.partyId, signers), b.secretShare));
  if (!equalBytes(G.multiply(secret).toBytes(true), a.publicKey)) {
    throw new ShareMismatchError('These shares do not combine to the wallet key (one of them is damaged or was replaced by a refresh).');
  }
  return scalarToBytes(secret);
}
