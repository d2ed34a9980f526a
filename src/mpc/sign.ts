/**
 * DKLs23 threshold signing (eprint 2023/765, Protocol 3.6) for 2 signers,
 * split into a message-independent presigning phase (rounds 1-2) and a
 * one-round online phase (round 3).
 *
 *   1. nonce, commitment to R_i, multiplication message as Bob (random input chi)
 *   2. opening of R_i, pk_i, Gamma = (c_u + rho c_v) G, psi = phi_i - chi, multiplication reply as Alice (inputs r_i, sk_i)
 *      -> each party checks the DKLs23 consistency equations and holds a presignature (R, phi_i, u_i, v_i)
 *   3. w_i = m phi_i + r v_i and u_i; s = sum(w) / sum(u), verified before it is returned
 *
 * DKLs23 sends Gamma_u = c_u G and Gamma_v = c_v G and checks two equations. Here both are
 * checked as one, weighted by rho, a Fiat-Shamir challenge on the multiplication transcript, R_i
 * and pk_i: whatever the sender deviated by in its two inputs is fixed before rho is drawn, so
 * the combined check misses a deviation with probability 1/n per hash query. It saves a
 * constant-time multiplication for the sender and a variable-base one for the checker.
 */
import { bytesToNumberBE } from '@noble/curves/utils.js';
import { affinePoint } from './affine.js';
import { bytesToHex, concatBytes, randomBytes } from './bytes.js';
import { Fn, keyPoint, Point, POINT_BYTES, mulG, mulSecretSum, pointFromBytes, pointToBytes, randomScalar } from './curve.js';
import { PayloadReader, PayloadWriter } from './codec.js';
import { commit, openCommitment, SALT_BYTES } from './commit.js';
import { normaliseSignature, nonceRecoveryBits, verifyWithNonce, type RecoverableSignature } from './ecdsa.js';
import { InvalidArgumentError, PresignatureUsedError } from './errors.js';
import { hashToScalar, taggedHash } from './hash.js';
import type { KeyShare } from './keyshare.js';
import { MUL_ALICE_MESSAGE_BYTES, MUL_BOB_MESSAGE_BYTES, mulAlice, mulBobFinish, mulBobStart, type MulBobState } from './multiply.js';
import { Party, type PartyCore, type Step } from './party.js';
import { lagrangeAtZero } from './polynomial.js';
import { payloadDigest, type SignablePayload } from './ethereum.js';
import { stateFromJson } from './state.js';

const NONCE_BYTES = 32;


export type SignResult = { kind: 'presigned' } | { kind: 'signature'; signature: RecoverableSignature };

interface Presignature {
  nonce: Uint8Array;
  r: bigint;
  recoveryBits: number;
  phi: bigint;
  u: bigint;
  v: bigint;
  used: boolean;
}

interface SignState extends PartyCore {
  share: KeyShare;
  signers: number[];
  nonce: Uint8Array;
  nonceShare: bigint;
  /** R_i = r_i G, compressed. */
  noncePoint: Uint8Array;
  /** R_i uncompressed, so round 2 needs no square root (absent in states saved by older versions). */
  noncePointFull?: Uint8Array;
  phi: bigint;
  salt: Uint8Array;
  nonces: Record<number, Uint8Array>;
  commitments: Record<number, Uint8Array>;
  bob: Record<number, MulBobState>;
  sid?: Uint8Array;
  keyShare?: bigint;
  keyPoint?: Uint8Array;
  keyPointFull?: Uint8Array;
  aliceShares: Record<number, { u: bigint; v: bigint }>;
  presignature?: Presignature;
  online?: { digest: bigint; w: bigint; u: bigint };
}

export interface SignOptions {
  share: KeyShare;
  /** 32 random bytes chosen by whoever coordinates this run; both signers must get the same. */
  session: Uint8Array;
  /** The two signing parties (ids from the key share), this party among them. */
  signers: number[];
}

export class SignParty extends Party<SignState, SignResult> {
  static create(options: SignOptions): SignParty {
    const { share } = options;
    if (options.session.length !== 32) throw new InvalidArgumentError('Session id must be 32 bytes.');
    const signers = [...options.signers].sort((a, b) => a - b);
    const valid =
      signers.length === share.threshold &&
      new Set(signers).size === signers.length &&
      signers.includes(share.partyId) &&
      signers.every((id) => share.parties.includes(id));
    if (!valid) throw new InvalidArgumentError(`Signers must be ${share.threshold} distinct parties of this key, including this one.`, `got ${options.signers.join(',')}`);
    const nonceShare = randomScalar();
    const noncePoint = affinePoint(mulG(nonceShare));
    return new SignParty({
      protocol: 'sign',
      session: bytesToHex(options.session),
      me: share.partyId,
      peers: signers.filter((id) => id !== share.partyId),
      round: 1,
      status: 'running',
      inbox: {},
      share,
      signers,
      nonce: randomBytes(NONCE_BYTES),
      nonceShare,
      noncePoint: pointToBytes(noncePoint),
      noncePointFull: noncePoint.toBytes(false),
      phi: randomScalar(),
      salt: new Uint8Array(0),
      nonces: {},
      commitments: {},
      bob: {},
      aliceShares: {},
    });
  }

  static fromState(json: string): SignParty {
    return new SignParty(stateFromJson<SignState>(json));
  }

  get presigned(): boolean {
    return this.state.presignature !== undefined && !this.state.presignature.used;
  }

  private otBinding(bob: number, alice: number, bobNonce: Uint8Array): Uint8Array {
    const { share, session } = this.state;
    return taggedHash('sign/ot-binding', session, share.keyId, share.generation, bob, alice, bobNonce);
  }

  private rowKey(alice: number, bob: number): Uint8Array {
    return taggedHash('sign/row-key', this.state.sid!, alice, bob);
  }

  /** The weight of the combined consistency check for the pair where `alice` was the multiplication's sender. */
  private checkWeight(transcript: Uint8Array, aliceNonce: Uint8Array, aliceKey: Uint8Array): bigint {
    return hashToScalar('sign/check-weight', this.state.sid!, transcript, aliceNonce, aliceKey);
  }

  private nonceCommitmentParts(party: number, nonce: Uint8Array, point: Uint8Array) {
    return [this.state.session, this.state.share.keyId, party, nonce, point] as const;
  }

  start(): Step<SignResult>['outgoing'] {
    this.assertRunning();
    const s = this.state;
    if (s.salt.length) throw new InvalidArgumentError('This party was already started.');
    const { commitment, salt } = commit('sign-nonce', ...this.nonceCommitmentParts(s.me, s.nonce, s.noncePoint));
    s.salt = salt;
    return s.peers.map((peer) => {
      const bob = mulBobStart(s.share.pairs[peer]!.asReceiver, this.otBinding(s.me, peer, s.nonce));
      s.bob[peer] = bob.state;
      return this.message(peer, 1, concatBytes(s.nonce, commitment, bob.message));
    });
  }

  protected expectedFrom(round: number): number[] {
    return round >= 1 && round <= 3 ? this.state.peers : [];
  }

  protected override ready(round: number): boolean {
    return round !== 3 || this.state.online !== undefined;
  }

  protected override isFinal(result: SignResult): boolean {
    return result.kind === 'signature';
  }

  protected process(round: number, payloads: Map<number, Uint8Array>): Step<SignResult> {
    if (round === 1) return this.round1(payloads);
    if (round === 2) return this.round2(payloads);
    return this.round3(payloads);
  }

  private round1(payloads: Map<number, Uint8Array>): Step<SignResult> {
    const s = this.state;
    const bobMessages = new Map<number, Uint8Array>();
    for (const [peer, payload] of payloads) {
      this.fromPeer(peer, () => {
        const reader = new PayloadReader(payload);
        s.nonces[peer] = reader.bytes(NONCE_BYTES);
        s.commitments[peer] = reader.bytes(32);
        bobMessages.set(peer, reader.bytes(MUL_BOB_MESSAGE_BYTES));
        reader.end();
      });
    }
    s.nonces[s.me] = s.nonce;
    const { share } = s;
    s.sid = taggedHash('sign/sid', s.session, share.keyId, share.generation, concatBytes(...s.signers.map((id) => Uint8Array.of(id))), ...s.signers.map((id) => s.nonces[id]!));

    // Additive key share for this signer set, re-randomised by pairwise zero shares.
    let keyShare = Fn.mul(lagrangeAtZero(s.me, s.signers), share.secretShare);
    for (const peer of s.peers) {
      const zero = hashToScalar('sign/zero-share', share.pairs[peer]!.zeroSeed, s.sid);
      keyShare = s.me < peer ? Fn.add(keyShare, zero) : Fn.sub(keyShare, zero);
    }
    s.keyShare = keyShare;
    const ownKey = affinePoint(mulG(keyShare));
    s.keyPoint = pointToBytes(ownKey);
    s.keyPointFull = ownKey.toBytes(false);

    const outgoing = s.peers.map((peer) => {
      const reply = this.fromPeer(peer, () =>
        mulAlice(share.pairs[peer]!.asSender, this.otBinding(peer, s.me, s.nonces[peer]!), this.rowKey(s.me, peer), [s.nonceShare, keyShare], bobMessages.get(peer)!),
      );
      const [u, v] = reply.shares as [bigint, bigint];
      s.aliceShares[peer] = { u, v };
      const rho = this.checkWeight(reply.transcript, s.noncePoint, s.keyPoint!);
      const payload = new PayloadWriter()
        .bytes(s.noncePoint)
        .bytes(s.salt)
        .bytes(s.keyPoint!)
        .point(mulG(Fn.add(u, Fn.mul(rho, v))))
        .scalar(Fn.sub(s.phi, s.bob[peer]!.input))
        .bytes(reply.message)
        .finish();
      return this.message(peer, 2, payload);
    });
    return { outgoing };
  }

  private round2(payloads: Map<number, Uint8Array>): Step<SignResult> {
    const s = this.state;
    const keyShare = s.keyShare!;
    let nonce = Point.fromBytes(s.noncePointFull ?? s.noncePoint);
    let keySum = Point.fromBytes(s.keyPointFull ?? s.keyPoint!);
    let u = Fn.mul(s.nonceShare, s.phi);
    let v = Fn.mul(keyShare, s.phi);
    for (const [peer, payload] of payloads) {
      this.fromPeer(peer, () => {
        const reader = new PayloadReader(payload);
        const peerNonceBytes = reader.bytes(POINT_BYTES);
        const peerNonce = pointFromBytes(peerNonceBytes);
        const salt = reader.bytes(SALT_BYTES);
        const peerKeyBytes = reader.bytes(POINT_BYTES);
        const peerKey = pointFromBytes(peerKeyBytes);
        const gamma = reader.point();
        const psi = reader.scalar();
        const aliceMessage = reader.bytes(MUL_ALICE_MESSAGE_BYTES);
        reader.end();
        if (!openCommitment(s.commitments[peer]!, 'sign-nonce', salt, ...this.nonceCommitmentParts(peer, s.nonces[peer]!, peerNonceBytes))) {
          this.fail('commitment-mismatch', peer, 'nonce point does not open its commitment');
        }
        const bob = s.bob[peer]!;
        const finished = mulBobFinish(bob, this.rowKey(peer, s.me), aliceMessage);
        const [du, dv] = finished.shares as [bigint, bigint];
        // DKLs23 consistency check: the peer used the committed nonce and its claimed key share as inputs,
        // i.e. du G + Gamma_u = chi R_peer and dv G + Gamma_v = chi pk_peer, checked as one equation with the
        // weight rho (see the top of this file): chi R_peer + (chi rho) pk_peer, both multiplications by
        // secret scalars, in one pass.
        const rho = this.checkWeight(finished.transcript, peerNonceBytes, peerKeyBytes);
        const left = mulG(Fn.add(du, Fn.mul(rho, dv))).add(gamma);
        const right = mulSecretSum([
          [peerNonce, bob.input],
          [peerKey, Fn.mul(bob.input, rho)],
        ]);
        if (!left.equals(right)) this.fail('consistency-check-failed', peer, 'multiplication outputs do not match the nonce or key share');
        const alice = s.aliceShares[peer]!;
        u = Fn.add(u, Fn.add(Fn.add(alice.u, Fn.mul(s.nonceShare, psi)), du));
        v = Fn.add(v, Fn.add(Fn.add(alice.v, Fn.mul(keyShare, psi)), dv));
        nonce = nonce.add(peerNonce);
        keySum = keySum.add(peerKey);
      });
    }
    const publicKey = keyPoint(s.share.publicKey);
    if (!keySum.equals(publicKey)) this.fail('public-key-mismatch', undefined, 'signers key shares do not add up to the wallet key');
    nonce = affinePoint(nonce);
    const r = Fn.create(nonce.toAffine().x);
    if (r === 0n) this.fail('nonce-overflow', undefined, 'nonce x coordinate is zero');
    s.presignature = {
      // Uncompressed: the online phase then needs no square root (older states hold it compressed; both decode).
      nonce: nonce.toBytes(false),
      r,
      recoveryBits: nonceRecoveryBits(nonce),
      phi: s.phi,
      u,
      v,
      used: false,
    };
    // Only the presignature and the wallet's public key are needed from here on: a stored
    // presignature holds neither the key share nor the OT material (and is ~25 KB smaller).
    s.share = { ...s.share, secretShare: 0n, pairs: {} };
    s.bob = {};
    s.aliceShares = {};
    s.keyShare = undefined;
    s.keyPointFull = undefined;
    s.noncePointFull = undefined;
    s.nonceShare = 0n;
    s.phi = 0n;
    return { outgoing: [], result: { kind: 'presigned' } };
  }

  /**
   * Online phase: sign a 32-byte digest that this party computed itself.
   * The presignature is marked used before the message is produced; persist
   * exportState() before sending the returned messages.
   */
  signDigest(digest: Uint8Array): Step<SignResult> {
    this.assertRunning();
    const s = this.state;
    if (!s.presignature) throw new InvalidArgumentError('Presigning has not finished yet.');
    if (s.presignature.used) throw new PresignatureUsedError();
    if (!(digest instanceof Uint8Array) || digest.length !== 32) throw new InvalidArgumentError('Digest must be 32 bytes.');
    s.presignature.used = true;
    const m = Fn.create(bytesToNumberBE(digest));
    const { phi, v, u, r } = s.presignature;
    const w = Fn.add(Fn.mul(m, phi), Fn.mul(r, v));
    s.online = { digest: m, w, u };
    const payload = new PayloadWriter().scalar(w).scalar(u).finish();
    const outgoing = s.peers.map((peer) => this.message(peer, 3, payload));
    return this.guard(s.round, () => {
      const step = this.drain();
      return { outgoing: [...outgoing, ...step.outgoing], result: step.result };
    });
  }

  /** Online phase from the payload itself (checklist item 6): the digest is computed here, never taken from outside. */
  signPayload(payload: SignablePayload): Step<SignResult> {
    return this.signDigest(payloadDigest(payload));
  }

  private round3(payloads: Map<number, Uint8Array>): Step<SignResult> {
    const s = this.state;
    const presignature = s.presignature!;
    const online = s.online!;
    let w = online.w;
    let u = online.u;
    for (const [peer, payload] of payloads) {
      this.fromPeer(peer, () => {
        const reader = new PayloadReader(payload);
        w = Fn.add(w, reader.scalar());
        u = Fn.add(u, reader.scalar());
        reader.end();
      });
    }
    if (u === 0n) this.fail('signature-invalid', undefined, 'sum of u shares is zero');
    const sigS = Fn.div(w, u);
    const nonce = Point.fromBytes(presignature.nonce);
    if (sigS === 0n || !verifyWithNonce(online.digest, presignature.r, sigS, nonce, keyPoint(s.share.publicKey))) {
      this.fail('signature-invalid', undefined, 'the combined signature does not verify against the wallet key');
    }
    const normal = normaliseSignature(presignature.r, sigS, presignature.recoveryBits);
    if (normal.recoveryBits > 1) this.fail('nonce-overflow', undefined, 'nonce x exceeds the group order; sign again with a new session');
    presignature.phi = 0n;
    presignature.u = 0n;
    presignature.v = 0n;
    return { outgoing: [], result: { kind: 'signature', signature: { r: normal.r, s: normal.s, recid: normal.recoveryBits as 0 | 1 } } };
  }
}

