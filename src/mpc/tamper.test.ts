/**
 * Tampering with every round of DKG, refresh, presigning (sign rounds 1-2) and
 * online signing (sign round 3): bit flips, substituted valid points,
 * off-curve points, the identity, out-of-range scalars, wrong lengths, replays
 * from another session, wrong sender or round, duplicates. Each must end in a
 * typed ProtocolAbortError naming the round and the reason, with no signature
 * (or key share) output by the party that got the tampered message.
 *
 * To keep the number of expensive DKG runs small, one honest run per
 * configuration is recorded and the state of every party is saved (exportState)
 * just before the first message of each direction and round is delivered. Each
 * test restores those parties (fromState), delivers the pending queue with
 * exactly one message altered in flight and runs on until the abort. A control
 * test per snapshot shows that the same continuation without tampering finishes
 * honestly, so an abort is caused by the mutation and not by the harness.
 *
 * A duplicate of a protocol's final message is the one duplicate that cannot abort: the
 * genuine first copy already finished the recipient. It must be refused with
 * PartyClosedError and must not produce a second result (tested at the end).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { numberToBytesBE } from '@noble/curves/utils.js';
import { randomBytes } from './bytes.js';
import { DkgParty, keyPublicInfo } from './dkg.js';
import { PartyClosedError, ProtocolAbortError, type AbortReason } from './errors.js';
import type { KeyShare } from './keyshare.js';
import { deliverAll, runDkg, runPresign, type RoutableParty } from './local-runner.js';
import type { ProtocolMessage, ProtocolName } from './message.js';
import { MUL_ALICE_MESSAGE_BYTES, MUL_BOB_MESSAGE_BYTES } from './multiply.js';
import type { Step } from './party.js';
import { SignParty, type SignResult } from './sign.js';

const Point = secp256k1.Point;
const N = Point.Fn.ORDER;

// ---------------------------------------------------------------------------
// Byte values used by the mutations.

const pointBytes = (k: bigint): Uint8Array => Point.BASE.multiply(k).toBytes(true);
/** 0x02 || x = 5: there is no y with y^2 = 5^3 + 7 mod p. */
const OFF_CURVE = Uint8Array.of(0x02, ...numberToBytesBE(5n, 32));
/** Compressed SEC1 cannot express infinity; the closest encoding is all zero. */
const IDENTITY = new Uint8Array(33);
const SCALAR_N = numberToBytesBE(N, 32);
const SCALAR_ZERO = new Uint8Array(32);

/** Any failed check is a fine reason for a flipped bit or a substituted valid value. */
const CHECKS: readonly AbortReason[] = [
  'commitment-mismatch',
  'invalid-proof',
  'invalid-share',
  'view-mismatch',
  'ot-check-failed',
  'multiplication-check-failed',
  'consistency-check-failed',
  'public-key-mismatch',
  'signature-invalid',
  'invalid-point',
  'invalid-scalar',
  'bad-encoding',
];
const POINT_REASONS: readonly AbortReason[] = ['invalid-point'];
const IDENTITY_REASONS: readonly AbortReason[] = ['invalid-point', 'bad-encoding'];
const SCALAR_REASONS: readonly AbortReason[] = ['invalid-scalar'];
const LENGTH_REASONS: readonly AbortReason[] = ['bad-encoding'];
/** A copy of a message that already completed its round is stale ('wrong-round'); one that arrives while the round is open is a duplicate. */
const DUPLICATE_REASONS: readonly AbortReason[] = ['duplicate-message', 'wrong-round'];
/** Labelled one round ahead: buffered, then the genuine next-round message is a duplicate (or none is expected at all). */
const NEXT_ROUND_REASONS: readonly AbortReason[] = ['duplicate-message', 'wrong-sender', 'wrong-round'];

// ---------------------------------------------------------------------------
// Payload layouts (field order and sizes from dkg.ts, sign.ts, multiply.ts, ot/).

type Kind = 'point' | 'scalar' | 'bytes';
interface Field {
  name: string;
  at: number;
  size: number;
  kind: Kind;
}
interface Layout {
  round: number;
  from: number;
  to: number;
  length: number;
  fields: Field[];
}

/** Lays fields out one after another. */
function layout(round: number, from: number, to: number, fields: Array<[string, Kind, number?]>): Layout {
  let at = 0;
  const placed = fields.map(([name, kind, size]) => {
    const field = { name, kind, at, size: size ?? (kind === 'point' ? 33 : 32) };
    at += field.size;
    return field;
  });
  return { round, from, to, length: at, fields: placed };
}

const KAPPA = 128;
/** OT extension message: KAPPA columns of (rows + 256) bits, the choice hash, KAPPA column hashes. */
const extensionFields = (rows: number, prefix = ''): Array<[string, Kind, number]> => [
  [`${prefix}extension columns`, 'bytes', KAPPA * ((rows + 256) / 8)],
  [`${prefix}extension choice hash`, 'bytes', 32],
  [`${prefix}extension column hashes`, 'bytes', KAPPA * 32],
];

const dkgLayouts = (mode: 'dkg' | 'refresh', low: number, high: number): Layout[] => [
  layout(1, low, high, [
    ['nonce', 'bytes'],
    ['commitment', 'bytes'],
  ]),
  layout(2, low, high, [
    ...(mode === 'dkg'
      ? ([
          ['constant term a0*G', 'point'],
          ['slope a1*G', 'point'],
          ['chain-code part', 'bytes'],
          ['proof commitment', 'point'],
          ['proof response', 'scalar'],
        ] as Array<[string, Kind]>)
      : ([['slope a1*G', 'point']] as Array<[string, Kind]>)),
    ['salt', 'bytes'],
    ['share f(j)', 'scalar'],
    ['zero-seed part', 'bytes'],
    ['base-OT sender key', 'point'],
    ['base-OT proof commitment', 'point'],
    ['base-OT proof response', 'scalar'],
  ]),
  layout(3, low, high, [['view hash', 'bytes'], ['zero-seed confirmation', 'bytes']]),
  layout(4, low, high, extensionFields(KAPPA)),
];

const BASE_OT_SENDER: Array<[string, Kind]> = [
  ['base-OT sender key', 'point'],
  ['base-OT proof commitment', 'point'],
  ['base-OT proof response', 'scalar'],
];

/** Re-sharing round 2: a dealer sends its polynomial, its proof and the recipient's share; a non-dealer only its seed parts. */
const reshareRound2 = (from: number, to: number, dealer: boolean): Layout =>
  layout(2, from, to, [
    ...(dealer
      ? ([
          ['constant term lambda*x*G', 'point'],
          ['slope a1*G', 'point'],
          ['proof commitment', 'point'],
          ['proof response', 'scalar'],
          ['salt', 'bytes'],
          ['share f(j)', 'scalar'],
        ] as Array<[string, Kind]>)
      : ([['salt', 'bytes']] as Array<[string, Kind]>)),
    ['zero-seed part', 'bytes'],
    ...(from < to ? BASE_OT_SENDER : []),
  ]);

/** DKG round 3 from the higher to the lower id also carries the base-OT receiver points. */
const dkgRound3Up = (low: number, high: number): Layout =>
  layout(3, high, low, [['view hash', 'bytes'], ['zero-seed confirmation', 'bytes'], ...Array.from({ length: KAPPA }, (_, i) => [`base-OT receiver point ${i}`, 'point'] as [string, Kind])]);

const MUL_CORRECTIONS = 416 * 3;
const signLayouts = (from: number, to: number): Layout[] => [
  layout(1, from, to, [['nonce', 'bytes'], ['commitment to R_i', 'bytes'], ...extensionFields(416, 'multiplication (Bob) ')]),
  layout(2, from, to, [
    ['R_i', 'point'],
    ['salt', 'bytes'],
    ['pk_i', 'point'],
    ['Gamma = (c_u + rho c_v) G', 'point'],
    ['psi', 'scalar'],
    ['multiplication correction 0', 'scalar'],
    ['multiplication corrections', 'bytes', (MUL_CORRECTIONS - 2) * 32],
    ['multiplication last correction', 'scalar'],
    ['multiplication check digest', 'bytes'],
    ['multiplication check combination', 'scalar'],
    ['multiplication adjustment (nonce)', 'scalar'],
    ['multiplication adjustment (key)', 'scalar'],
  ]),
  layout(3, from, to, [
    ['w_i', 'scalar'],
    ['u_i', 'scalar'],
  ]),
];

// ---------------------------------------------------------------------------
// Honest recording with snapshots.

type AnyParty = DkgParty | SignParty;
interface Snapshot {
  states: string[];
  queue: ProtocolMessage[];
}
interface Recording {
  protocol: ProtocolName;
  restore: (state: string) => AnyParty;
  /** Party states before the first message of each `round:from>to` is delivered; 'online' is after presigning. */
  snapshots: Map<string, Snapshot>;
  transcript: ProtocolMessage[];
  results: Map<number, unknown>;
}

const keyOf = (round: number, from: number, to: number) => `${round}:${from}>${to}`;
const clone = (message: ProtocolMessage): ProtocolMessage => ({ ...message, payload: message.payload.slice() });
const find = (transcript: ProtocolMessage[], round: number, from: number, to: number): ProtocolMessage => {
  const message = transcript.find((m) => m.round === round && m.from === from && m.to === to);
  if (!message) throw new Error(`no round ${round} message ${from}->${to} in the transcript`);
  return clone(message);
};

function deliverRecording(parties: AnyParty[], initial: ProtocolMessage[], recording: Recording): void {
  const byId = new Map(parties.map((party) => [party.partyId, party]));
  const queue = [...initial];
  while (queue.length) {
    const message = queue[0]!;
    const key = keyOf(message.round, message.from, message.to);
    if (!recording.snapshots.has(key)) recording.snapshots.set(key, { states: parties.map((p) => p.exportState()), queue: queue.map(clone) });
    queue.shift();
    recording.transcript.push(clone(message));
    const step: Step<unknown> = byId.get(message.to)!.receive(message);
    queue.push(...step.outgoing);
    if (step.result !== undefined) recording.results.set(message.to, step.result);
  }
}

function recordDkg(parties: number[]): Recording {
  const session = randomBytes(32);
  const runners = parties.map((partyId) => DkgParty.create({ session, partyId, parties }));
  const recording: Recording = { protocol: 'dkg', restore: DkgParty.fromState, snapshots: new Map(), transcript: [], results: new Map() };
  deliverRecording(runners, runners.flatMap((p) => p.start()), recording);
  return recording;
}

/**
 * A re-sharing to parties 1, 2 and 3 by two dealers: the co-signer (2) and backup (3) for a
 * restore onto a new device (1); the device (1) and the co-signer (2) for a new backup (3).
 */
function recordReshare(shares: KeyShare[], dealers: [number, number]): Recording {
  const session = randomBytes(32);
  const key = keyPublicInfo(shares[0]!);
  const runners = [1, 2, 3].map((partyId) => {
    const share = shares.find((candidate) => candidate.partyId === partyId && dealers.includes(partyId));
    return DkgParty.reshare({ session, partyId, parties: [1, 2, 3], dealers, key, ...(share ? { share } : {}) });
  });
  const recording: Recording = { protocol: 'reshare', restore: DkgParty.fromState, snapshots: new Map(), transcript: [], results: new Map() };
  deliverRecording(runners, runners.flatMap((p) => p.start()), recording);
  return recording;
}

function recordRefresh(shares: KeyShare[]): Recording {
  const session = randomBytes(32);
  const runners = shares.map((share) => DkgParty.refresh({ session, share }));
  const recording: Recording = { protocol: 'refresh', restore: DkgParty.fromState, snapshots: new Map(), transcript: [], results: new Map() };
  deliverRecording(runners, runners.flatMap((p) => p.start()), recording);
  return recording;
}

const DIGEST = randomBytes(32);

function recordSign(shares: KeyShare[]): Recording {
  const session = randomBytes(32);
  const signers = shares.map((share) => share.partyId);
  const runners = shares.map((share) => SignParty.create({ share, session, signers }));
  const recording: Recording = { protocol: 'sign', restore: SignParty.fromState, snapshots: new Map(), transcript: [], results: new Map() };
  deliverRecording(runners, runners.flatMap((p) => p.start()), recording);
  recording.snapshots.set('online', { states: runners.map((p) => p.exportState()), queue: [] });
  deliverRecording(runners, runners.flatMap((p) => p.signDigest(DIGEST).outgoing), recording);
  return recording;
}

function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

const shareList = (recording: Recording, ids: number[]): KeyShare[] => ids.map((id) => recording.results.get(id) as KeyShare);

const dkg2 = once(() => recordDkg([1, 2]));
const dkg2Replay = once(() => recordDkg([1, 2]));
const dkg3 = once(() => recordDkg([1, 2, 3]));
const refresh2 = once(() => recordRefresh(shareList(dkg2(), [1, 2])));
const refresh2Replay = once(() => recordRefresh(shareList(dkg2(), [1, 2])));
const restore3 = once(() => recordReshare(shareList(dkg3(), [1, 2, 3]), [2, 3]));
const restore3Replay = once(() => recordReshare(shareList(dkg3(), [1, 2, 3]), [2, 3]));
const newBackup2 = once(() => recordReshare(shareList(dkg2(), [1, 2]), [1, 2]));
const newBackup2Replay = once(() => recordReshare(shareList(dkg2(), [1, 2]), [1, 2]));
const sign2 = once(() => recordSign(shareList(dkg2(), [1, 2])));
const sign2Replay = once(() => recordSign(shareList(dkg2(), [1, 2])));
const sign3 = once(() => recordSign(shareList(dkg3(), [2, 3])));
const sign3Replay = once(() => recordSign(shareList(dkg3(), [2, 3])));

// ---------------------------------------------------------------------------
// Mutations.

interface Context {
  /** The same round and direction from another honest session of the same protocol and parties. */
  replay: ProtocolMessage;
  /** The honest transcript this snapshot was taken from. */
  transcript: ProtocolMessage[];
}
type Mutate = (message: ProtocolMessage, context: Context) => ProtocolMessage | ProtocolMessage[];
interface Case {
  name: string;
  mutate: Mutate;
  reasons: readonly AbortReason[];
  /** Who must abort: the recipient of the tampered message unless said otherwise. */
  detector?: 'recipient' | 'sender';
}

const withPayload = (message: ProtocolMessage, payload: Uint8Array): ProtocolMessage => ({ ...message, payload });
const flipBit = (offset: number, bit = 0): Mutate => (message) => {
  const payload = message.payload.slice();
  payload[offset]! ^= 1 << bit;
  return withPayload(message, payload);
};
const overwrite = (field: Field, value: Uint8Array | ((old: Uint8Array) => Uint8Array)): Mutate => (message) => {
  const payload = message.payload.slice();
  const old = payload.slice(field.at, field.at + field.size);
  const bytes = typeof value === 'function' ? value(old) : value;
  expect(bytes).toHaveLength(field.size);
  payload.set(bytes, field.at);
  return withPayload(message, payload);
};
/** Another valid point: 7G, or 8G if the field happens to hold 7G. */
const otherPoint = (old: Uint8Array): Uint8Array => {
  const seven = pointBytes(7n);
  return old.every((byte, i) => byte === seven[i]) ? pointBytes(8n) : seven;
};

function fieldCases(spec: Layout): Case[] {
  return spec.fields.flatMap((field): Case[] => {
    const cases: Case[] = [{ name: `flip a bit in ${field.name}`, mutate: flipBit(field.at + field.size - 1), reasons: CHECKS }];
    if (field.kind === 'point') {
      cases.push(
        { name: `${field.name} replaced by another valid point`, mutate: overwrite(field, otherPoint), reasons: CHECKS },
        { name: `${field.name} off the curve`, mutate: overwrite(field, OFF_CURVE), reasons: POINT_REASONS },
        { name: `${field.name} the identity`, mutate: overwrite(field, IDENTITY), reasons: IDENTITY_REASONS },
      );
    }
    if (field.kind === 'scalar') {
      cases.push(
        { name: `${field.name} = n`, mutate: overwrite(field, SCALAR_N), reasons: SCALAR_REASONS },
        { name: `${field.name} = 0`, mutate: overwrite(field, SCALAR_ZERO), reasons: SCALAR_REASONS },
      );
    }
    return cases;
  });
}

const flipCases = (spec: Layout): Case[] => [
  { name: 'flip a bit at the start of the payload', mutate: flipBit(0), reasons: CHECKS },
  { name: 'flip a bit in the middle of the payload', mutate: flipBit(spec.length >> 1), reasons: CHECKS },
  { name: 'flip a bit at the end of the payload', mutate: flipBit(spec.length - 1), reasons: CHECKS },
];

function envelopeCases(spec: Layout): Case[] {
  return [
    { name: 'payload truncated by one byte', mutate: (m) => withPayload(m, m.payload.slice(0, -1)), reasons: LENGTH_REASONS },
    { name: 'payload extended by one byte', mutate: (m) => withPayload(m, Uint8Array.of(...m.payload, 0)), reasons: LENGTH_REASONS },
    { name: 'empty payload', mutate: (m) => withPayload(m, new Uint8Array(0)), reasons: LENGTH_REASONS },
    { name: 'payload that is not a Uint8Array', mutate: (m) => withPayload(m, Array.from(m.payload) as unknown as Uint8Array), reasons: LENGTH_REASONS },
    { name: 'replay: the message of another session', mutate: (_m, c) => c.replay, reasons: ['wrong-session'] },
    { name: "replay: another session's payload under this session's header", mutate: (m, c) => withPayload(m, c.replay.payload), reasons: CHECKS },
    { name: 'round number of the previous round', mutate: (m) => ({ ...m, round: m.round - 1 }), reasons: ['wrong-round'] },
    { name: 'round number one ahead', mutate: (m) => ({ ...m, round: m.round + 1 }), reasons: NEXT_ROUND_REASONS },
    { name: 'round number two ahead', mutate: (m) => ({ ...m, round: m.round + 2 }), reasons: ['wrong-round'] },
    { name: 'sender that is not a party (from = 9)', mutate: (m) => ({ ...m, from: 9 }), reasons: ['wrong-sender'] },
    { name: 'sender is the recipient itself', mutate: (m) => ({ ...m, from: spec.to }), reasons: ['wrong-sender'] },
    { name: 'duplicate delivery', mutate: (m) => [m, clone(m)], reasons: DUPLICATE_REASONS },
  ];
}

const allCases = (spec: Layout): Case[] => [...flipCases(spec), ...fieldCases(spec), ...envelopeCases(spec)];

// ---------------------------------------------------------------------------
// Running one tampered continuation.

interface Outcome {
  error: ProtocolAbortError;
  detector: AnyParty;
  results: Map<number, unknown>;
  otherAborts: ProtocolAbortError[];
}

function runTampered(recording: Recording, replay: Recording, spec: Layout, testCase: Case): Outcome {
  const snapshotKey = recording.protocol === 'sign' && spec.round === 3 ? 'online' : keyOf(spec.round, spec.from, spec.to);
  const snapshot = recording.snapshots.get(snapshotKey);
  if (!snapshot) throw new Error(`no snapshot ${snapshotKey}`);
  const parties = snapshot.states.map(recording.restore);
  const detectorId = testCase.detector === 'sender' ? spec.from : spec.to;
  const detector = parties.find((party) => party.partyId === detectorId)!;
  const context: Context = { replay: find(replay.transcript, spec.round, spec.from, spec.to), transcript: recording.transcript };
  const results = new Map<number, unknown>();
  const otherAborts: ProtocolAbortError[] = [];

  /**
   * The detector's errors propagate out of deliverAll. Another party may abort
   * too (e.g. the sender, on the detector's now inconsistent reply): that is
   * recorded and checked below, and its later messages are dropped, so that
   * delivery goes on until the detector has seen what it needs.
   */
  const act = (party: AnyParty, work: () => Step<unknown>): Step<unknown> => {
    if (party !== detector && party.status !== 'running') return { outgoing: [] };
    let step: Step<unknown>;
    if (party === detector) step = work();
    else {
      try {
        step = work();
      } catch (error) {
        if (!(error instanceof ProtocolAbortError)) throw error;
        otherAborts.push(error);
        return { outgoing: [] };
      }
    }
    if (step.result !== undefined) results.set(party.partyId, step.result);
    return step;
  };
  const routable: RoutableParty<unknown>[] = parties.map((party) => ({ partyId: party.partyId, receive: (m) => act(party, () => party.receive(m)) }));

  let tampered = 0;
  const intercept = (message: ProtocolMessage) => {
    if (tampered > 0 || message.round !== spec.round || message.from !== spec.from || message.to !== spec.to) return message;
    tampered++;
    expect(message.payload.length, 'payload layout changed').toBe(spec.length);
    return testCase.mutate(message, context);
  };

  const execute = () => {
    deliverAll(routable, snapshot.queue.map(clone), { intercept });
    if (recording.protocol === 'sign') {
      // Presigning went through (or this is the online round): sign, as the application would.
      const online = (parties as SignParty[]).filter((party) => party.status === 'running' && party.presigned);
      const initial = online.flatMap((party) => act(party, () => party.signDigest(DIGEST)).outgoing);
      deliverAll(routable, initial, { intercept });
    }
  };

  const error = expectAbort(execute);
  expect(tampered).toBe(1);
  return { error, detector, results, otherAborts };
}

/** expect(work).toThrow(ProtocolAbortError), keeping the error to inspect it (rethrown, never swallowed). */
function expectAbort(work: () => void): ProtocolAbortError {
  let error: unknown;
  expect(() => {
    try {
      work();
    } catch (thrown) {
      error = thrown;
      throw thrown;
    }
  }).toThrow(ProtocolAbortError);
  return error as ProtocolAbortError;
}

function checkAbort(recording: Recording, spec: Layout, testCase: Case, outcome: Outcome): void {
  const { error, detector, results, otherAborts } = outcome;
  expect(error.protocol).toBe(recording.protocol);
  expect(error.round).toBeGreaterThanOrEqual(spec.round);
  expect(error.round).toBeLessThanOrEqual(recording.protocol === 'sign' ? 3 : 4);
  expect(testCase.reasons, `abort reason was '${error.reason}' (${error.message})`).toContain(error.reason);

  // The receiving party is dead, says why, and refuses to go on.
  expect(detector.status).toBe('aborted');
  expect(JSON.parse(detector.exportState()).abort).toMatchObject({ round: error.round, reason: error.reason });
  const someMessage = { ...recording.transcript.find((m) => m.to === detector.partyId)! };
  expect(() => detector.receive(someMessage)).toThrow(PartyClosedError);
  if (detector instanceof SignParty) expect(() => detector.signDigest(DIGEST)).toThrow(PartyClosedError);

  // No output from the party that aborted (signing parties may have reported 'presigned' before), and no signature from anyone.
  if (!(detector instanceof SignParty)) expect(results.has(detector.partyId)).toBe(false);
  for (const result of results.values()) expect((result as SignResult).kind).not.toBe('signature');
  for (const other of otherAborts) expect(other.round).toBeGreaterThanOrEqual(spec.round);
}

/** Declares one test per case for one round of one recorded protocol. */
function tamperSuite(title: string, recording: () => Recording, replay: () => Recording, spec: Layout, cases: Case[]): void {
  describe(title, () => {
    let main: Recording;
    let other: Recording;
    beforeAll(() => {
      main = recording();
      other = replay();
    });

    it('honest payload has the documented layout, and the snapshot continues honestly', () => {
      const head = find(main.transcript, spec.round, spec.from, spec.to);
      expect(head.payload.length).toBe(spec.length);
      // Control: the same continuation without tampering finishes for every party.
      const key = main.protocol === 'sign' && spec.round === 3 ? 'online' : keyOf(spec.round, spec.from, spec.to);
      const snapshot = main.snapshots.get(key)!;
      const parties = snapshot.states.map(main.restore);
      const { results } = deliverAll<unknown>(parties, snapshot.queue.map(clone));
      if (main.protocol === 'sign') {
        const online = deliverAll<unknown>(parties, (parties as SignParty[]).flatMap((party) => party.signDigest(DIGEST).outgoing));
        for (const party of parties) expect(online.results.get(party.partyId)).toMatchObject({ kind: 'signature' });
      } else {
        for (const party of parties) expect(party.status).toBe('finished');
        expect(results.size).toBeGreaterThan(0);
      }
    });

    // A duplicate of a protocol's last message reaches a party that already finished with the genuine copy:
    // it is refused with PartyClosedError (tested below), not turned into an abort after the fact.
    const finalRound = spec.round === 4 || spec.fields.some((field) => field.name === 'w_i');
    const runnable = finalRound ? cases.filter((testCase) => testCase.name !== 'duplicate delivery') : cases;
    it.each(runnable.map((testCase) => [testCase.name, testCase] as const))('%s', (_name, testCase) => {
      const outcome = runTampered(main, other, spec, testCase);
      checkAbort(main, spec, testCase, outcome);
    });
  });
}

// ---------------------------------------------------------------------------
// The suites.

describe('mutation values', () => {
  it('the off-curve point and the identity encoding are rejected by @noble/curves, 7G and 8G are valid', () => {
    expect(() => Point.fromBytes(OFF_CURVE)).toThrow();
    expect(() => Point.fromBytes(IDENTITY)).toThrow();
    expect(() => Point.fromBytes(pointBytes(7n))).not.toThrow();
    expect(Point.Fn.isValid(N)).toBe(false);
  });
});

describe('DKG 2-of-2', () => {
  const [r1, r2, r3, r4] = dkgLayouts('dkg', 1, 2) as [Layout, Layout, Layout, Layout];
  tamperSuite('round 1 (1 -> 2)', dkg2, dkg2Replay, r1, allCases(r1));
  tamperSuite('round 2 (1 -> 2)', dkg2, dkg2Replay, r2, allCases(r2));
  tamperSuite('round 3 (1 -> 2)', dkg2, dkg2Replay, r3, allCases(r3));
  tamperSuite('round 3 (2 -> 1, base-OT receiver points)', dkg2, dkg2Replay, dkgRound3Up(1, 2), round3UpCases(dkgRound3Up(1, 2), 'dkg'));
  tamperSuite('round 4 (1 -> 2)', dkg2, dkg2Replay, r4, allCases(r4));
});

describe('DKG 2-of-3', () => {
  const layouts = dkgLayouts('dkg', 1, 2);
  for (const spec of layouts) {
    const cases: Case[] = [
      ...flipCases(spec),
      { name: 'duplicate delivery', mutate: (m) => [m, clone(m)], reasons: DUPLICATE_REASONS },
      { name: 'sender relabelled as the other peer (from = 3)', mutate: (m) => ({ ...m, from: 3 }), reasons: ['duplicate-message', 'wrong-sender'] },
    ];
    tamperSuite(`round ${spec.round} (1 -> 2)`, dkg3, dkg3, spec, cases);
  }
});

describe('refresh 2-of-2', () => {
  const [r1, r2, r3, r4] = dkgLayouts('refresh', 1, 2) as [Layout, Layout, Layout, Layout];
  tamperSuite('round 1 (1 -> 2)', refresh2, refresh2Replay, r1, allCases(r1));
  tamperSuite('round 2 (1 -> 2)', refresh2, refresh2Replay, r2, allCases(r2));
  tamperSuite('round 3 (1 -> 2)', refresh2, refresh2Replay, r3, allCases(r3));
  tamperSuite('round 3 (2 -> 1, base-OT receiver points)', refresh2, refresh2Replay, dkgRound3Up(1, 2), round3UpCases(dkgRound3Up(1, 2), 'refresh'));
  tamperSuite('round 4 (1 -> 2)', refresh2, refresh2Replay, r4, allCases(r4));
});

describe('restore 2-of-3: co-signer (2) and backup (3) re-share to a new device (1)', () => {
  const [r1, , r3, r4] = dkgLayouts('refresh', 1, 2) as [Layout, Layout, Layout, Layout];
  const backupToCosigner = reshareRound2(3, 2, true);
  const deviceToCosigner = reshareRound2(1, 2, false);
  const cosignerToDevice = reshareRound2(2, 1, true);
  const cosignerToBackup = reshareRound2(2, 3, true);
  tamperSuite('round 1 (1 -> 2)', restore3, restore3Replay, r1, allCases(r1));
  tamperSuite('round 2 (3 -> 2, the backup proving its share to the co-signer)', restore3, restore3Replay, backupToCosigner, allCases(backupToCosigner));
  tamperSuite('round 2 (1 -> 2, the new device)', restore3, restore3Replay, deviceToCosigner, allCases(deviceToCosigner));
  tamperSuite('round 2 (2 -> 1, the co-signer dealing to the new device)', restore3, restore3Replay, cosignerToDevice, allCases(cosignerToDevice));
  tamperSuite('round 2 (2 -> 3)', restore3, restore3Replay, cosignerToBackup, [...flipCases(cosignerToBackup), ...fieldCases(cosignerToBackup)]);
  tamperSuite('round 3 (1 -> 2)', restore3, restore3Replay, r3, allCases(r3));
  tamperSuite('round 3 (2 -> 1, base-OT receiver points)', restore3, restore3Replay, dkgRound3Up(1, 2), round3UpCases(dkgRound3Up(1, 2), 'reshare from a non-dealer'));
  tamperSuite('round 3 (3 -> 2, base-OT receiver points)', restore3, restore3Replay, dkgRound3Up(2, 3), round3UpCases(dkgRound3Up(2, 3), 'reshare from a dealer'));
  tamperSuite('round 4 (1 -> 2)', restore3, restore3Replay, r4, allCases(r4));
  tamperSuite('round 4 (2 -> 3)', restore3, restore3Replay, layout(4, 2, 3, extensionFields(KAPPA)), flipCases(layout(4, 2, 3, extensionFields(KAPPA))));
});

describe('new backup 2-of-2 -> 2-of-3: device (1) and co-signer (2) re-share to themselves and a new backup (3)', () => {
  const [r1, , r3, r4] = dkgLayouts('refresh', 1, 2) as [Layout, Layout, Layout, Layout];
  const deviceToCosigner = reshareRound2(1, 2, true);
  const backupToCosigner = reshareRound2(3, 2, false);
  const cosignerToDevice = reshareRound2(2, 1, true);
  const cosignerToBackup = reshareRound2(2, 3, true);
  tamperSuite('round 1 (1 -> 2)', newBackup2, newBackup2Replay, r1, allCases(r1));
  tamperSuite('round 2 (1 -> 2, the device proving its share to the co-signer)', newBackup2, newBackup2Replay, deviceToCosigner, allCases(deviceToCosigner));
  tamperSuite('round 2 (3 -> 2, the new backup)', newBackup2, newBackup2Replay, backupToCosigner, allCases(backupToCosigner));
  tamperSuite('round 2 (2 -> 1, the co-signer proving its share to the device)', newBackup2, newBackup2Replay, cosignerToDevice, allCases(cosignerToDevice));
  tamperSuite('round 2 (2 -> 3, the co-signer dealing to the new backup)', newBackup2, newBackup2Replay, cosignerToBackup, allCases(cosignerToBackup));
  tamperSuite('round 3 (1 -> 2)', newBackup2, newBackup2Replay, r3, allCases(r3));
  tamperSuite('round 3 (2 -> 1, base-OT receiver points)', newBackup2, newBackup2Replay, dkgRound3Up(1, 2), round3UpCases(dkgRound3Up(1, 2), 'reshare from a dealer'));
  tamperSuite('round 3 (3 -> 2, base-OT receiver points)', newBackup2, newBackup2Replay, dkgRound3Up(2, 3), round3UpCases(dkgRound3Up(2, 3), 'reshare from a dealer'));
  tamperSuite('round 4 (1 -> 2)', newBackup2, newBackup2Replay, r4, allCases(r4));
  tamperSuite('round 4 (2 -> 3)', newBackup2, newBackup2Replay, layout(4, 2, 3, extensionFields(KAPPA)), flipCases(layout(4, 2, 3, extensionFields(KAPPA))));
});

describe('signing with a 2-of-2 key (presign = rounds 1-2, online = round 3)', () => {
  for (const spec of signLayouts(1, 2)) tamperSuite(`round ${spec.round} (1 -> 2)`, sign2, sign2Replay, spec, allCases(spec));
});

describe('signing with a 2-of-3 key, signers 2 and 3', () => {
  for (const spec of signLayouts(2, 3)) tamperSuite(`round ${spec.round} (2 -> 3)`, sign3, sign3Replay, spec, allCases(spec));
});

/**
 * DKG round 3 from the higher id carries Chou-Orlandi receiver points. Their
 * value is the receiver's free choice, so the lower id (which gets them) can
 * only reject invalid encodings, the identity and its own key; a substituted
 * valid point is caught by the higher id's OT-extension check in round 4.
 */
/** Where the base-OT sender key sits in the lower id's round 2 message. */
const SENDER_KEY_AT = { dkg: 259, refresh: 129, 'reshare from a non-dealer': 64, 'reshare from a dealer': 227 } as const;

function round3UpCases(spec: Layout, round2From: keyof typeof SENDER_KEY_AT): Case[] {
  const point = (i: number) => spec.fields[2 + i]!;
  const senderKeyAt = SENDER_KEY_AT[round2From];
  const viaRound4 = { reasons: ['ot-check-failed'] as readonly AbortReason[], detector: 'sender' as const };
  return [
    { name: 'flip a bit in the view hash', mutate: flipBit(0), reasons: CHECKS },
    ...[0, 64, 127].map((i): Case => ({ name: `negate receiver point ${i} (flip its prefix bit): caught in round 4 by the sender`, mutate: flipBit(point(i).at), ...viaRound4 })),
    { name: 'receiver point 0 replaced by another valid point: caught in round 4 by the sender', mutate: overwrite(point(0), otherPoint), ...viaRound4 },
    { name: 'receiver point 127 off the curve', mutate: overwrite(point(127), OFF_CURVE), reasons: POINT_REASONS },
    { name: 'receiver point 0 the identity', mutate: overwrite(point(0), IDENTITY), reasons: IDENTITY_REASONS },
    {
      name: "receiver point 5 equal to the base-OT sender's own key",
      mutate: (m, c) => overwrite(point(5), find(c.transcript, 2, spec.to, spec.from).payload.slice(senderKeyAt, senderKeyAt + 33))(m, c),
      reasons: POINT_REASONS,
    },
    { name: 'payload truncated by one byte', mutate: (m) => withPayload(m, m.payload.slice(0, -1)), reasons: LENGTH_REASONS },
    { name: 'payload extended by one byte', mutate: (m) => withPayload(m, Uint8Array.of(...m.payload, 0)), reasons: LENGTH_REASONS },
    { name: "replay: another session's payload under this session's header", mutate: (m, c) => withPayload(m, c.replay.payload), reasons: CHECKS },
  ];
}

describe('online round: a duplicate that arrives before the local signDigest', () => {
  it('is buffered once, then aborts as duplicate-message and nobody gets a signature', () => {
    const recording = sign2();
    const [one, two] = recording.snapshots.get('online')!.states.map(recording.restore) as [SignParty, SignParty];
    const message = one.signDigest(DIGEST).outgoing[0]!;
    expect(two.receive(message)).toEqual({ outgoing: [] });
    const error = expectAbort(() => two.receive(clone(message)));
    expect(error).toMatchObject({ protocol: 'sign', round: 3, reason: 'duplicate-message', culprit: 1 });
    expect(two.status).toBe('aborted');
    expect(() => two.signDigest(DIGEST)).toThrow(PartyClosedError);
    expect(() => two.receive(clone(message))).toThrow(PartyClosedError);
  });
});

// Layout constants must match the implementation's own, or the offsets above are wrong.
describe('layout constants', () => {
  it('match multiply.ts', () => {
    expect(signLayouts(1, 2)[0]!.length).toBe(64 + MUL_BOB_MESSAGE_BYTES);
    expect(signLayouts(1, 2)[1]!.length).toBe(33 + 32 + 33 + 33 + 32 + MUL_ALICE_MESSAGE_BYTES);
  });
});

describe('duplicate of the final message', () => {
  const duplicateRound = (round: number) => (message: ProtocolMessage) => (message.round === round ? [message, clone(message)] : message);

  it('DKG round 4: refused by the finished party with PartyClosedError', () => {
    expect(() => runDkg([1, 2], { intercept: duplicateRound(4) })).toThrow(PartyClosedError);
  });

  it('online round: refused with PartyClosedError after exactly one signature', () => {
    const { parties } = runPresign(shareList(dkg2(), [1, 2]));
    const outgoing = parties.flatMap((party) => party.signDigest(DIGEST).outgoing);
    const results: unknown[] = [];
    const [first, second] = outgoing as [ProtocolMessage, ProtocolMessage];
    const target = parties.find((party) => party.partyId === first.to)!;
    results.push(target.receive(first).result);
    expect(() => target.receive(clone(first))).toThrow(PartyClosedError);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ kind: 'signature' });
    expect(second.to).not.toBe(first.to);
  });
});
