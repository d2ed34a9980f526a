/**
 * Distributed key generation (threshold 2 of n, n = 2 or 3) and refresh, as
 * one party state machine. Feldman VSS with commit-before-reveal and a proof
 * of knowledge of each constant term (DKLs23 §6 / Protocol 9.1 style), an echo
 * of everyone's public view to catch equivocation, pairwise zero-share seeds,
 * and OT material for every ordered pair: one batch of base OTs per pair,
 * and the reverse direction bootstrapped from it with one OT extension.
 *
 * Rounds (every message is point to point):
 *   1. nonce, commitment to the polynomial commitments (and chain code part)
 *   2. opening, proof, the peer's share, zero-seed part, base-OT sender key (lower id)
 *   3. hash of the public view, base-OT receiver points (higher id)
 *   4. reverse OT extension (lower id to higher id)
 * Refresh runs the same rounds with constant terms zero, so the key stays.
 *
 * Re-sharing (restore onto a new device, a new backup, 2-of-2 to 2-of-3) runs them too, with
 * only two holders of the key as dealers: each deals λ_i·x_i (its Lagrange-weighted share over
 * the two) as the constant term of a fresh degree-1 polynomial, with a proof of knowledge of it.
 * Every party checks that constant against λ_i·X_i from the key's public shares, so a dealer
 * that does not hold its share cannot take part: for a restore, that is the backup proving
 * possession of its share to the co-signer inside the protocol. Non-dealers (the new device)
 * only receive; everyone gets fresh OT material and zero seeds, and the old shares no longer
 * combine with the new ones.
 */
import { bytesToHex, concatBytes, equalBytes, randomBytes } from './bytes.js';
import { Fn, Point, mulG, pointFromBytes, pointToBytes, randomScalar } from './curve.js';
import { PayloadReader, PayloadWriter } from './codec.js';
import { commit, openCommitment, SALT_BYTES } from './commit.js';
import { InvalidArgumentError } from './errors.js';
import { taggedHash } from './hash.js';
import type { KeyShare, PairMaterial } from './keyshare.js';
import { Party, type PartyCore, type Step } from './party.js';
import type { ProtocolMessage } from './message.js';
import { evaluatePolynomial, lagrangeAtZero } from './polynomial.js';
import { proveDlog, readDlogProof, verifyDlog, writeDlogProof } from './schnorr.js';
import { stateFromJson } from './state.js';
import { baseOtReceive, baseOtSenderFinish, baseOtSenderStart, type BaseOtSenderState } from './ot/base.js';
import { extensionReceive, extensionSend, flipRow } from './ot/extension.js';
import { KAPPA, KAPPA_BYTES } from './ot/params.js';

export const THRESHOLD = 2;
const NONCE_BYTES = 32;

/** What every party of a re-sharing knows of the key: the public parts of a share. */
export type KeyPublicInfo = Pick<KeyShare, 'keyId' | 'generation' | 'parties' | 'publicKey' | 'publicShares' | 'chainCode'>;

export function keyPublicInfo(share: KeyPublicInfo): KeyPublicInfo {
  const { keyId, generation, parties, publicKey, publicShares, chainCode } = share;
  return { keyId, generation, parties, publicKey, publicShares, chainCode };
}

export interface ReshareOptions {
  session: Uint8Array;
  partyId: number;
  /** Who holds the key afterwards (2 or 3 parties, among them both dealers). */
  parties: number[];
  /** The two holders of the current key that deal it out. */
  dealers: number[];
  /** The key being re-shared, as the dealers' shares describe it. */
  key: KeyPublicInfo;
  /** This party's current share: required for a dealer, absent otherwise. */
  share?: KeyShare;
}

type DkgMode = 'dkg' | 'refresh' | 'reshare';

interface DkgState extends PartyCore {
  mode: DkgMode;
  parties: number[];
  previous?: KeyShare;
  reshare?: { dealers: number[]; key: KeyPublicInfo };
  coefficients: bigint[];
  chainPart: Uint8Array;
  salt: Uint8Array;
  nonce: Uint8Array;
  zeroParts: Record<number, Uint8Array>;
  nonces: Record<number, Uint8Array>;
  commitments: Record<number, Uint8Array>;
  sid?: Uint8Array;
  baseSenders: Record<number, BaseOtSenderState>;
  /** Filled in round 2. */
  view?: {
    constantTerms: Record<number, Uint8Array>;
    slopes: Record<number, Uint8Array>;
    chainParts: Record<number, Uint8Array>;
    shareSum: bigint;
    zeroSeeds: Record<number, Uint8Array>;
    viewHash: Uint8Array;
  };
  pairs: Record<number, Partial<PairMaterial>>;
}

export interface DkgOptions {
  /** 32 random bytes chosen by whoever coordinates this run; all parties must get the same. */
  session: Uint8Array;
  partyId: number;
  parties: number[];
}

function validateParties(partyId: number, parties: number[]): number[] {
  const sorted = [...parties].sort((a, b) => a - b);
  const distinct = new Set(sorted).size === sorted.length;
  const inRange = sorted.every((id) => Number.isInteger(id) && id >= 1 && id <= 255);
  if (!distinct || !inRange || sorted.length < 2 || sorted.length > 3 || !sorted.includes(partyId)) {
    throw new InvalidArgumentError('Parties must be 2 or 3 distinct ids from 1 to 255, including this party.', `got ${parties.join(',')} for party ${partyId}`);
  }
  return sorted;
}

function pairContext(sid: Uint8Array, low: number, high: number, what: string): Uint8Array {
  return taggedHash(`dkg/${what}`, sid, low, high);
}

export class DkgParty extends Party<DkgState, KeyShare> {
  /** A party of a fresh 2-of-n key generation. */
  static create(options: DkgOptions): DkgParty {
    if (options.session.length !== 32) throw new InvalidArgumentError('Session id must be 32 bytes.');
    const parties = validateParties(options.partyId, options.parties);
    return new DkgParty(DkgParty.initialState('dkg', bytesToHex(options.session), options.partyId, parties));
  }

  /** A party of a refresh: all n holders of the key re-share it with new OT material. */
  static refresh(options: { session: Uint8Array; share: KeyShare }): DkgParty {
    if (options.session.length !== 32) throw new InvalidArgumentError('Session id must be 32 bytes.');
    const { share } = options;
    const parties = validateParties(share.partyId, share.parties);
    const state = DkgParty.initialState('refresh', bytesToHex(options.session), share.partyId, parties);
    state.previous = share;
    state.coefficients[0] = 0n;
    return new DkgParty(state);
  }

  /** A party of a re-sharing: two holders deal the key out to `parties` (see the file comment). */
  static reshare(options: ReshareOptions): DkgParty {
    if (options.session.length !== 32) throw new InvalidArgumentError('Session id must be 32 bytes.');
    const { key, share, partyId } = options;
    const parties = validateParties(partyId, options.parties);
    const dealers = [...new Set(options.dealers)].sort((a, b) => a - b);
    if (dealers.length !== THRESHOLD || !dealers.every((id) => key.parties.includes(id) && parties.includes(id) && key.publicShares[id] instanceof Uint8Array)) {
      throw new InvalidArgumentError('A re-sharing needs two dealers that hold the key and stay parties.', `dealers ${options.dealers.join(',')}, key parties ${key.parties.join(',')}`);
    }
    const dealing = dealers.includes(partyId);
    if (dealing !== (share !== undefined)) {
      throw new InvalidArgumentError(dealing ? 'A dealer of a re-sharing needs its current share.' : 'Only a dealer brings a share to a re-sharing.');
    }
    if (share && (share.partyId !== partyId || share.keyId !== key.keyId || share.generation !== key.generation || !equalBytes(share.publicKey, key.publicKey))) {
      throw new InvalidArgumentError('This share is not a share of the key being re-shared.', `share ${share.keyId} generation ${share.generation}, key ${key.keyId} generation ${key.generation}`);
    }
    const state = DkgParty.initialState('reshare', bytesToHex(options.session), partyId, parties);
    state.reshare = { dealers, key: keyPublicInfo(key) };
    state.coefficients = share ? [Fn.mul(lagrangeAtZero(partyId, dealers), share.secretShare), randomScalar()] : [];
    return new DkgParty(state);
  }

  static fromState(json: string): DkgParty {
    return new DkgParty(stateFromJson<DkgState>(json));
  }

  private static initialState(mode: DkgMode, session: string, me: number, parties: number[]): DkgState {
    const peers = parties.filter((id) => id !== me);
    return {
      protocol: mode,
      session,
      me,
      peers,
      round: 1,
      status: 'running',
      inbox: {},
      mode,
      parties,
      coefficients: [randomScalar(), randomScalar()],
      chainPart: randomBytes(32),
      salt: new Uint8Array(0),
      nonce: randomBytes(NONCE_BYTES),
      zeroParts: Object.fromEntries(peers.map((peer) => [peer, randomBytes(32)])),
      nonces: {},
      commitments: {},
      baseSenders: {},
      pairs: Object.fromEntries(peers.map((peer) => [peer, {}])),
    };
  }

  /** Whether a party deals a polynomial: everyone in DKG and refresh, the two dealers in a re-sharing. */
  private deals(party: number): boolean {
    return this.state.mode !== 'reshare' || this.state.reshare!.dealers.includes(party);
  }

  /** Whether a dealer's constant term is public (and proven): not in a refresh, whose constants are zero. */
  private get dealsConstant(): boolean {
    return this.state.mode !== 'refresh';
  }

  /** Only a fresh key gets a fresh chain code. */
  private get dealsChainPart(): boolean {
    return this.state.mode === 'dkg';
  }

  /** Public commitments to this party's polynomial: a0 G (unless refreshing) and a1 G; nothing from a non-dealer. */
  private ownCommitments(): { constant?: Uint8Array; slope?: Uint8Array } {
    if (!this.deals(this.state.me)) return {};
    const slope = pointToBytes(mulG(this.state.coefficients[1]!));
    return this.dealsConstant ? { constant: pointToBytes(mulG(this.state.coefficients[0]!)), slope } : { slope };
  }

  /** In a re-sharing, a dealer's constant term must be its Lagrange-weighted public share: λ_i·X_i. */
  private expectedConstant(dealer: number): Point | undefined {
    const reshare = this.state.reshare;
    if (!reshare) return undefined;
    return pointFromBytes(reshare.key.publicShares[dealer]!).multiply(lagrangeAtZero(dealer, reshare.dealers));
  }

  private commitmentParts(party: number, nonce: Uint8Array, constant: Uint8Array | undefined, slope: Uint8Array | undefined, chainPart: Uint8Array) {
    return [this.state.session, this.state.mode, party, nonce, constant ?? new Uint8Array(0), slope ?? new Uint8Array(0), chainPart] as const;
  }

  start(): Step<KeyShare>['outgoing'] {
    this.assertRunning();
    if (this.state.salt.length) throw new InvalidArgumentError('This party was already started.');
    const { constant, slope } = this.ownCommitments();
    const chainPart = this.dealsChainPart ? this.state.chainPart : new Uint8Array(0);
    const { commitment, salt } = commit('dkg', ...this.commitmentParts(this.state.me, this.state.nonce, constant, slope, chainPart));
    this.state.salt = salt;
    const payload = concatBytes(this.state.nonce, commitment);
    return this.state.peers.map((peer) => this.message(peer, 1, payload));
  }

  protected expectedFrom(round: number): number[] {
    if (round === 4) return this.state.peers.filter((peer) => peer < this.state.me);
    return round >= 1 && round <= 3 ? this.state.peers : [];
  }

  protected process(round: number, payloads: Map<number, Uint8Array>): Step<KeyShare> {
    switch (round) {
      case 1:
        return this.round1(payloads);
      case 2:
        return this.round2(payloads);
      case 3:
        return this.round3(payloads);
      default:
        return this.round4(payloads);
    }
  }

  private round1(payloads: Map<number, Uint8Array>): Step<KeyShare> {
    const s = this.state;
    for (const [peer, payload] of payloads) {
      this.fromPeer(peer, () => {
        const reader = new PayloadReader(payload);
        s.nonces[peer] = reader.bytes(NONCE_BYTES);
        s.commitments[peer] = reader.bytes(32);
        reader.end();
      });
    }
    s.nonces[s.me] = s.nonce;
    const prior = this.priorKey;
    s.sid = taggedHash(
      'dkg/sid',
      s.mode,
      s.session,
      concatBytes(...s.parties.map((id) => Uint8Array.of(id))),
      THRESHOLD,
      ...s.parties.map((id) => s.nonces[id]!),
      prior ? prior.publicKey : new Uint8Array(0),
      prior ? prior.generation : 0,
      s.reshare ? concatBytes(...s.reshare.dealers.map((id) => Uint8Array.of(id))) : new Uint8Array(0),
      s.reshare ? prior!.keyId : '',
    );
    const { constant, slope } = this.ownCommitments();
    const outgoing = s.peers.map((peer) => {
      const writer = new PayloadWriter();
      if (constant) writer.bytes(constant);
      if (slope) writer.bytes(slope);
      if (this.dealsChainPart) writer.bytes(s.chainPart);
      if (constant) writeDlogProof(writer, proveDlog(s.coefficients[0]!, pointFromBytes(constant), taggedHash('dkg/pok', s.sid!, s.me)));
      writer.bytes(s.salt);
      if (slope) writer.scalar(evaluatePolynomial(s.coefficients, peer));
      writer.bytes(s.zeroParts[peer]!);
      if (s.me < peer) {
        const base = baseOtSenderStart(pairContext(s.sid!, s.me, peer, 'base-ot'));
        s.baseSenders[peer] = base.state;
        writer.bytes(base.message);
      }
      return this.message(peer, 2, writer.finish());
    });
    return { outgoing };
  }

  private round2(payloads: Map<number, Uint8Array>): Step<KeyShare> {
    const s = this.state;
    const sid = s.sid!;
    const own = this.ownCommitments();
    const constantTerms: Record<number, Uint8Array> = {};
    const slopes: Record<number, Uint8Array> = {};
    const chainParts: Record<number, Uint8Array> = { [s.me]: this.dealsChainPart ? s.chainPart : new Uint8Array(0) };
    if (own.constant) constantTerms[s.me] = own.constant;
    if (own.slope) slopes[s.me] = own.slope;
    const zeroSeeds: Record<number, Uint8Array> = {};
    let shareSum = own.slope ? evaluatePolynomial(s.coefficients, s.me) : 0n;
    const receiverMessages = new Map<number, Uint8Array>();

    for (const [peer, payload] of payloads) {
      this.fromPeer(peer, () => {
        const reader = new PayloadReader(payload);
        const dealer = this.deals(peer);
        const constant = dealer && this.dealsConstant ? reader.point() : undefined;
        const slope = dealer ? reader.point() : undefined;
        const chainPart = this.dealsChainPart ? reader.bytes(32) : new Uint8Array(0);
        const proof = constant ? readDlogProof(reader) : undefined;
        const salt = reader.bytes(SALT_BYTES);
        const share = dealer ? reader.scalar() : undefined;
        const zeroPart = reader.bytes(32);
        const baseMessage = peer < s.me ? reader.bytes(33 + 33 + 32) : undefined;
        reader.end();

        const constantBytes = constant ? pointToBytes(constant) : undefined;
        const slopeBytes = slope ? pointToBytes(slope) : undefined;
        const parts = this.commitmentParts(peer, s.nonces[peer]!, constantBytes, slopeBytes, chainPart);
        if (!openCommitment(s.commitments[peer]!, 'dkg', salt, ...parts)) this.fail('commitment-mismatch', peer, 'polynomial commitments do not open');
        if (constant && proof && !verifyDlog(proof, constant, taggedHash('dkg/pok', sid, peer))) this.fail('invalid-proof', peer, 'proof of knowledge of the constant term');
        const expectedConstant = constant && this.expectedConstant(peer);
        if (constant && expectedConstant && !constant.equals(expectedConstant)) {
          this.fail('public-key-mismatch', peer, 'the dealt constant term is not the Lagrange-weighted share the key records for this dealer');
        }
        if (slope && share !== undefined) {
          const expected = (constant ?? Point.ZERO).add(slope.multiplyUnsafe(BigInt(s.me)));
          if (!mulG(share).equals(expected)) this.fail('invalid-share', peer, 'share does not match the polynomial commitments');
          shareSum = Fn.add(shareSum, share);
        }

        if (constantBytes) constantTerms[peer] = constantBytes;
        if (slopeBytes) slopes[peer] = slopeBytes;
        chainParts[peer] = chainPart;
        const [low, high] = s.me < peer ? [s.me, peer] : [peer, s.me];
        const lowPart = low === s.me ? s.zeroParts[peer]! : zeroPart;
        const highPart = low === s.me ? zeroPart : s.zeroParts[peer]!;
        zeroSeeds[peer] = taggedHash('dkg/zero-seed', sid, low, high, lowPart, highPart);

        if (baseMessage) {
          const received = baseOtReceive(pairContext(sid, peer, s.me, 'base-ot'), baseMessage);
          s.pairs[peer]!.asSender = { delta: received.delta, seeds: received.seeds };
          receiverMessages.set(peer, received.message);
        }
      });
    }

    const ordered = (record: Record<number, Uint8Array>) => s.parties.map((id) => record[id] ?? new Uint8Array(0));
    const viewHash = taggedHash(
      'dkg/view',
      sid,
      ...ordered(constantTerms),
      ...ordered(slopes),
      ...ordered(chainParts),
      this.priorKey ? concatBytes(...this.priorKey.parties.map((id) => this.priorKey!.publicShares[id]!)) : new Uint8Array(0),
    );
    s.view = { constantTerms, slopes, chainParts, shareSum, zeroSeeds, viewHash };
    const outgoing = s.peers.map((peer) =>
      this.message(peer, 3, concatBytes(viewHash, pairConfirmation(sid, s.me, peer, zeroSeeds[peer]!), receiverMessages.get(peer) ?? new Uint8Array(0))),
    );
    return { outgoing };
  }

  private round3(payloads: Map<number, Uint8Array>): Step<KeyShare> {
    const s = this.state;
    const sid = s.sid!;
    const outgoing: ProtocolMessage[] = [];
    for (const [peer, payload] of payloads) {
      this.fromPeer(peer, () => {
        const reader = new PayloadReader(payload);
        const viewHash = reader.bytes(32);
        const confirmation = reader.bytes(32);
        const receiverMessage = peer > s.me ? reader.bytes(KAPPA * 33) : undefined;
        reader.end();
        if (!equalBytes(viewHash, s.view!.viewHash)) this.fail('view-mismatch', peer, 'the peer saw different public commitments');
        // The zero-seed parts travel point to point outside the commitments: confirm both ends derived the same seed.
        if (!equalBytes(confirmation, pairConfirmation(sid, s.me, peer, s.view!.zeroSeeds[peer]!))) this.fail('view-mismatch', peer, 'the pairwise zero seed differs');
        if (receiverMessage) {
          const asReceiver = baseOtSenderFinish(pairContext(sid, s.me, peer, 'base-ot'), s.baseSenders[peer]!, receiverMessage);
          s.pairs[peer]!.asReceiver = asReceiver;
          const binding = pairContext(sid, s.me, peer, 'reverse-ot');
          const { output, message } = extensionReceive(asReceiver, binding, KAPPA);
          s.pairs[peer]!.asSender = { delta: output.choices, seeds: reverseSeeds(binding, output.rows) };
          outgoing.push(this.message(peer, 4, message));
        }
      });
    }
    s.baseSenders = {};
    if (this.expectedFrom(4).length === 0) return { outgoing, result: this.finish() };
    return { outgoing };
  }

  private round4(payloads: Map<number, Uint8Array>): Step<KeyShare> {
    const s = this.state;
    for (const [peer, payload] of payloads) {
      this.fromPeer(peer, () => {
        const binding = pairContext(s.sid!, peer, s.me, 'reverse-ot');
        const asSender = s.pairs[peer]!.asSender!;
        const rows = extensionSend(asSender, binding, KAPPA, payload);
        const flipped = new Uint8Array(rows.length);
        for (let j = 0; j < KAPPA; j++) flipped.set(flipRow(rows.subarray(j * KAPPA_BYTES, (j + 1) * KAPPA_BYTES), asSender.delta), j * KAPPA_BYTES);
        s.pairs[peer]!.asReceiver = { seeds0: reverseSeeds(binding, rows), seeds1: reverseSeeds(binding, flipped) };
      });
    }
    return { outgoing: [], result: this.finish() };
  }

  /** The key a refresh or re-sharing keeps. */
  private get priorKey(): KeyPublicInfo | undefined {
    return this.state.previous ?? this.state.reshare?.key;
  }

  private finish(): KeyShare {
    const s = this.state;
    const view = s.view!;
    const previous = s.previous;
    const prior = this.priorKey;
    const dealers = s.parties.filter((id) => this.deals(id));
    const secretShare = previous ? Fn.add(previous.secretShare, view.shareSum) : view.shareSum;
    const publicShares: Record<number, Uint8Array> = {};
    for (const id of s.parties) {
      let point = previous ? pointFromBytes(previous.publicShares[id]!) : Point.ZERO;
      for (const dealer of dealers) {
        if (!previous) point = point.add(pointFromBytes(view.constantTerms[dealer]!));
        point = point.add(pointFromBytes(view.slopes[dealer]!).multiplyUnsafe(BigInt(id)));
      }
      publicShares[id] = pointToBytes(point);
    }
    const dealtKey = previous ? undefined : pointToBytes(dealers.reduce((sum, id) => sum.add(pointFromBytes(view.constantTerms[id]!)), Point.ZERO));
    if (prior && dealtKey && !equalBytes(dealtKey, prior.publicKey)) this.fail('public-key-mismatch', undefined, 'the dealt constant terms do not add up to the key');
    const publicKey = prior ? prior.publicKey : dealtKey!;
    if (!equalBytes(pointToBytes(mulG(secretShare)), publicShares[s.me]!)) this.fail('public-key-mismatch', undefined, 'own share does not match the public shares');
    const pairs: Record<number, PairMaterial> = {};
    for (const peer of s.peers) {
      const pair = s.pairs[peer]!;
      pairs[peer] = { zeroSeed: view.zeroSeeds[peer]!, asSender: pair.asSender!, asReceiver: pair.asReceiver! };
    }
    const share: KeyShare = {
      version: 1,
      keyId: prior ? prior.keyId : bytesToHex(taggedHash('dkg/key-id', s.sid!)),
      generation: prior ? prior.generation + 1 : 0,
      partyId: s.me,
      parties: s.parties,
      threshold: THRESHOLD,
      secretShare,
      publicKey,
      publicShares,
      chainCode: prior ? prior.chainCode : taggedHash('dkg/chain-code', s.sid!, ...s.parties.map((id) => view.chainParts[id]!)),
      pairs,
    };
    // Nothing secret stays in the finished party's state.
    s.coefficients = [];
    s.view = undefined;
    s.pairs = {};
    s.previous = undefined;
    s.reshare = undefined;
    return share;
  }
}

/** Hash of a pair's zero seed, the same from both ends. */
function pairConfirmation(sid: Uint8Array, a: number, b: number, zeroSeed: Uint8Array): Uint8Array {
  return taggedHash('dkg/pair-confirm', sid, Math.min(a, b), Math.max(a, b), zeroSeed);
}

/** Random-OT keys of the bootstrapped reverse direction: a hash of each extended row. */
function reverseSeeds(binding: Uint8Array, rows: Uint8Array): Uint8Array {
  const seeds: Uint8Array[] = [];
  for (let j = 0; j < KAPPA; j++) seeds.push(taggedHash('dkg/reverse-seed', binding, j, rows.subarray(j * KAPPA_BYTES, (j + 1) * KAPPA_BYTES)));
  return concatBytes(...seeds);
}

