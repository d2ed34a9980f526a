/**
 * Base OT: a batch of KAPPA random 1-out-of-2 OTs after Chou-Orlandi's
 * "Simplest OT", with the sender's key proven by a Schnorr proof of knowledge
 * (as in the VSOT setup of DKLs19) and every key hash bound to the session,
 * the OT index and both public points. Written here because no maintained JS
 * library offers OT.
 */
import { concatBytes, randomBytes } from '../bytes.js';
import { mulG, mulSecretSum, pointFromBytes, pointToBytes, randomScalar, type Point } from '../curve.js';
import { PayloadReader, PayloadWriter } from '../codec.js';
import { DecodeError } from '../errors.js';
import { taggedHash } from '../hash.js';
import { proveDlog, readDlogProof, verifyDlog, writeDlogProof } from '../schnorr.js';
import { KAPPA, KAPPA_BYTES, bitAt, type OtReceiverSetup } from './params.js';

const SENDER_MESSAGE_BYTES = 33 + 33 + 32;
export const BASE_OT_RECEIVER_MESSAGE_BYTES = KAPPA * 33;

function otKey(context: Uint8Array, index: number, senderPoint: Uint8Array, receiverPoint: Uint8Array, shared: Point): Uint8Array {
  return taggedHash('ot/base/key', context, index, senderPoint, receiverPoint, pointToBytes(shared));
}

export interface BaseOtSenderState {
  secret: bigint;
  publicPoint: Uint8Array;
}

/** Sender, step 1: a fresh key A = aG with its proof. */
export function baseOtSenderStart(context: Uint8Array): { state: BaseOtSenderState; message: Uint8Array } {
  const secret = randomScalar();
  const point = mulG(secret);
  const writer = new PayloadWriter().point(point);
  writeDlogProof(writer, proveDlog(secret, point, context));
  return { state: { secret, publicPoint: pointToBytes(point) }, message: writer.finish() };
}

/** Receiver: choose KAPPA bits (the extension sender's correlation) and learn one key per OT. */
export function baseOtReceive(
  context: Uint8Array,
  senderMessage: Uint8Array,
): { delta: Uint8Array; seeds: Uint8Array; message: Uint8Array } {
  if (senderMessage.length !== SENDER_MESSAGE_BYTES) throw new DecodeError('bad-encoding', 'base OT sender message has the wrong length');
  const reader = new PayloadReader(senderMessage);
  const senderPoint = reader.point();
  const proof = readDlogProof(reader);
  reader.end();
  if (!verifyDlog(proof, senderPoint, context)) throw new DecodeError('invalid-proof', 'base OT sender key proof does not verify');
  const senderBytes = pointToBytes(senderPoint);

  const delta = randomBytes(KAPPA_BYTES);
  const seeds: Uint8Array[] = [];
  const points: Uint8Array[] = [];
  for (let index = 0; index < KAPPA; index++) {
    const secret = randomScalar();
    const plain = mulG(secret);
    const options = [plain, plain.add(senderPoint)];
    const receiverBytes = pointToBytes(options[bitAt(delta, index)]!);
    points.push(receiverBytes);
    seeds.push(otKey(context, index, senderBytes, receiverBytes, mulSecretSum([[senderPoint, secret]])));
  }
  return { delta, seeds: concatBytes(...seeds), message: concatBytes(...points) };
}

/** Sender, step 2: both keys of every OT. */
export function baseOtSenderFinish(context: Uint8Array, state: BaseOtSenderState, receiverMessage: Uint8Array): OtReceiverSetup {
  if (receiverMessage.length !== BASE_OT_RECEIVER_MESSAGE_BYTES) throw new DecodeError('bad-encoding', 'base OT receiver message has the wrong length');
  const reader = new PayloadReader(receiverMessage);
  const senderPoint = pointFromBytes(state.publicPoint);
  const senderTimesSecret = mulSecretSum([[senderPoint, state.secret]]);
  const seeds0: Uint8Array[] = [];
  const seeds1: Uint8Array[] = [];
  for (let index = 0; index < KAPPA; index++) {
    const receiverPoint = reader.point();
    if (receiverPoint.equals(senderPoint)) throw new DecodeError('invalid-point', 'base OT receiver point equals the sender key');
    const receiverBytes = pointToBytes(receiverPoint);
    const shared = mulSecretSum([[receiverPoint, state.secret]]);
    seeds0.push(otKey(context, index, state.publicPoint, receiverBytes, shared));
    seeds1.push(otKey(context, index, state.publicPoint, receiverBytes, shared.subtract(senderTimesSecret)));
  }
  reader.end();
  return { seeds0: concatBytes(...seeds0), seeds1: concatBytes(...seeds1) };
}
