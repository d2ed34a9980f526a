import { G, Fn, mulG, pointToBytes, randomScalar, type Point } from './curve.js';
import { hashToScalar } from './hash.js';
import type { PayloadReader, PayloadWriter } from './codec.js';

/** Non-interactive proof of knowledge of x with X = xG (Schnorr, Fiat-Shamir bound to a context). */
export interface DlogProof {
  commitment: Point;
  response: bigint;
}

export function proveDlog(secret: bigint, publicPoint: Point, context: Uint8Array): DlogProof {
  const nonce = randomScalar();
  const commitment = mulG(nonce);
  const challenge = hashToScalar('dlog', context, pointToBytes(publicPoint), pointToBytes(commitment));
  return { commitment, response: Fn.add(nonce, Fn.mul(challenge, secret)) };
}

export function verifyDlog(proof: DlogProof, publicPoint: Point, context: Uint8Array): boolean {
  const challenge = hashToScalar('dlog', context, pointToBytes(publicPoint), pointToBytes(proof.commitment));
  // Public values only, so the variable-time multiplication is fine here.
  const left = G.multiplyUnsafe(proof.response);
  const right = proof.commitment.add(publicPoint.multiplyUnsafe(challenge));
  return left.equals(right);
}

export function writeDlogProof(writer: PayloadWriter, proof: DlogProof): void {
  writer.point(proof.commitment).scalar(proof.response);
}

export function readDlogProof(reader: PayloadReader): DlogProof {
  return { commitment: reader.point(), response: reader.scalar() };
}
