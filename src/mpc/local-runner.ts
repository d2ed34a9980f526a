/**
 * Runs parties of one protocol in one process by routing their messages
 * directly: for tests, benchmarks, and the flows whose parties are local by
 * design (device + backup signing without the co-signer). Never a transport.
 */
import { messageBytes, type ProtocolMessage } from './message.js';
import type { Step } from './party.js';

export interface RoutableParty<Result> {
  readonly partyId: number;
  receive(message: ProtocolMessage): Step<Result>;
}

export interface RunHooks {
  /** Lets a test tamper with, drop (return null) or duplicate (return several) a message in flight. */
  intercept?: (message: ProtocolMessage) => ProtocolMessage | ProtocolMessage[] | null;
}

/** Delivers messages until the queue is empty; returns each party's last result and the bytes sent. */
export function deliverAll<Result>(
  parties: RoutableParty<Result>[],
  initial: ProtocolMessage[],
  hooks: RunHooks = {},
): { results: Map<number, Result>; bytes: number } {
  const byId = new Map(parties.map((party) => [party.partyId, party]));
  const results = new Map<number, Result>();
  const queue = [...initial];
  let bytes = 0;
  while (queue.length) {
    const original = queue.shift()!;
    const intercepted = hooks.intercept ? hooks.intercept(original) : original;
    const messages = intercepted === null ? [] : Array.isArray(intercepted) ? intercepted : [intercepted];
    for (const message of messages) {
      bytes += messageBytes(message);
      const target = byId.get(message.to);
      if (!target) throw new Error(`no party ${message.to}`);
      const step = target.receive(message);
      queue.push(...step.outgoing);
      if (step.result !== undefined) results.set(message.to, step.result);
    }
  }
  return { results, bytes };
}

import { randomBytes } from './bytes.js';
import { DkgParty, keyPublicInfo } from './dkg.js';
import type { KeyShare } from './keyshare.js';
import { SignParty, type SignResult } from './sign.js';
import type { RecoverableSignature } from './ecdsa.js';

export function runDkg(parties: number[], hooks: RunHooks = {}): { shares: KeyShare[]; bytes: number } {
  const session = randomBytes(32);
  const runners = parties.map((partyId) => DkgParty.create({ session, partyId, parties }));
  const { results, bytes } = deliverAll(runners, runners.flatMap((party) => party.start()), hooks);
  return { shares: parties.map((id) => results.get(id)!), bytes };
}

export function runRefresh(shares: KeyShare[], hooks: RunHooks = {}): { shares: KeyShare[]; bytes: number } {
  const session = randomBytes(32);
  const runners = shares.map((share) => DkgParty.refresh({ session, share }));
  const { results, bytes } = deliverAll(runners, runners.flatMap((party) => party.start()), hooks);
  return { shares: shares.map((share) => results.get(share.partyId)!), bytes };
}

/**
 * Re-shares the key of `dealers` (two shares of one key) to `parties`: everyone not a dealer
 * joins empty-handed and gets a share. Returns every party's new share, by party id.
 */
export function runReshare(dealers: KeyShare[], parties: number[], hooks: RunHooks = {}): { shares: Map<number, KeyShare>; bytes: number } {
  const session = randomBytes(32);
  const key = keyPublicInfo(dealers[0]!);
  const dealerIds = dealers.map((share) => share.partyId);
  const runners = parties.map((partyId) => {
    const share = dealers.find((candidate) => candidate.partyId === partyId);
    return DkgParty.reshare({ session, partyId, parties, dealers: dealerIds, key, ...(share ? { share } : {}) });
  });
  const { results, bytes } = deliverAll(runners, runners.flatMap((party) => party.start()), hooks);
  return { shares: results, bytes };
}

/** Presigning between the given shares (one per signer): returns the parties holding presignatures. */
export function runPresign(shares: KeyShare[], hooks: RunHooks = {}): { parties: SignParty[]; bytes: number } {
  const session = randomBytes(32);
  const signers = shares.map((share) => share.partyId);
  const parties = shares.map((share) => SignParty.create({ share, session, signers }));
  const { bytes } = deliverAll<SignResult>(parties, parties.flatMap((party) => party.start()), hooks);
  return { parties, bytes };
}

/** The online round for presigned parties: every party gets (and has verified) the same signature. */
export function runOnline(parties: SignParty[], digest: Uint8Array, hooks: RunHooks = {}): { signature: RecoverableSignature; bytes: number } {
  const initial = parties.flatMap((party) => party.signDigest(digest).outgoing);
  const { results, bytes } = deliverAll<SignResult>(parties, initial, hooks);
  const signatures = parties.map((party) => results.get(party.partyId));
  const first = signatures[0];
  if (first?.kind !== 'signature' || !signatures.every((result) => result?.kind === 'signature' && result.signature.s === first.signature.s)) {
    throw new Error('online phase ended without a common signature');
  }
  return { signature: first.signature, bytes };
}

export function runSign(shares: KeyShare[], digest: Uint8Array): { signature: RecoverableSignature; bytes: number } {
  const presign = runPresign(shares);
  const online = runOnline(presign.parties, digest);
  return { signature: online.signature, bytes: presign.bytes + online.bytes };
}
