import { bytesToHex } from './bytes.js';
import { DecodeError, MpcError, PartyClosedError, ProtocolAbortError, type AbortReason } from './errors.js';
import { MESSAGE_VERSION, type ProtocolMessage, type ProtocolName } from './message.js';
import { stateToJson } from './state.js';

/** What every party keeps besides its protocol-specific data. All of it is plain, serialisable data. */
export interface PartyCore {
  protocol: ProtocolName;
  session: string;
  me: number;
  peers: number[];
  /** The round whose messages the party is waiting for. */
  round: number;
  status: 'running' | 'aborted' | 'finished';
  inbox: Record<number, Record<number, Uint8Array>>;
  abort?: { round: number; reason: AbortReason; culprit?: number };
}

export interface Step<Result> {
  outgoing: ProtocolMessage[];
  result?: Result;
}

/**
 * The round engine shared by DKG, refresh and signing: it checks each
 * envelope (version, protocol, session, sender, recipient, round,
 * duplicates), buffers at most one round ahead, runs a round once every
 * expected message is in, and turns any failure into a ProtocolAbortError
 * after which the party refuses to continue.
 */
export abstract class Party<State extends PartyCore, Result> {
  protected constructor(protected state: State) {}

  /** Which peers send a message in this round. */
  protected abstract expectedFrom(round: number): number[];
  /** Runs a complete round. May return the result, which finishes the party. */
  protected abstract process(round: number, payloads: Map<number, Uint8Array>): Step<Result>;
  /** Whether local input (such as the digest to sign) is still missing before this round can run. */
  protected ready(_round: number): boolean {
    return true;
  }
  /** Whether a result ends the party (signing reports the presignature and goes on). */
  protected isFinal(_result: Result): boolean {
    return true;
  }

  get status(): PartyCore['status'] {
    return this.state.status;
  }

  get partyId(): number {
    return this.state.me;
  }

  /** Serialise everything needed to continue later, e.g. after a service worker restart. */
  exportState(): string {
    return stateToJson(this.state);
  }

  receive(message: ProtocolMessage): Step<Result> {
    this.assertRunning();
    return this.guard(this.state.round, () => {
      this.checkEnvelope(message);
      const forRound = (this.state.inbox[message.round] ??= {});
      if (forRound[message.from]) this.fail('duplicate-message', message.from, `second round ${message.round} message`);
      forRound[message.from] = message.payload;
      return this.drain();
    });
  }

  protected drain(): Step<Result> {
    const outgoing: ProtocolMessage[] = [];
    while (this.state.status === 'running') {
      const round = this.state.round;
      const senders = this.expectedFrom(round);
      const inbox = this.state.inbox[round] ?? {};
      if (!senders.every((peer) => inbox[peer]) || !this.ready(round)) break;
      const payloads = new Map(senders.map((peer) => [peer, inbox[peer]!] as const));
      delete this.state.inbox[round];
      const step = this.process(round, payloads);
      this.state.round = round + 1;
      outgoing.push(...step.outgoing);
      if (step.result !== undefined) {
        if (this.isFinal(step.result)) this.state.status = 'finished';
        return { outgoing, result: step.result };
      }
    }
    return { outgoing };
  }

  protected checkEnvelope(message: ProtocolMessage): void {
    if (message.version !== MESSAGE_VERSION) this.fail('unsupported-version', message.from);
    if (message.protocol !== this.state.protocol) this.fail('wrong-protocol', message.from, `got ${message.protocol}`);
    if (message.session !== this.state.session) this.fail('wrong-session', message.from, 'message belongs to another session');
    if (message.to !== this.state.me) this.fail('wrong-recipient', message.from, `addressed to ${message.to}`);
    if (!this.state.peers.includes(message.from)) this.fail('wrong-sender', message.from, 'sender is not a party of this session');
    const round = this.state.round;
    if (message.round !== round && message.round !== round + 1) this.fail('wrong-round', message.from, `got round ${message.round} while in round ${round}`);
    if (!this.expectedFrom(message.round).includes(message.from)) this.fail('wrong-sender', message.from, `no round ${message.round} message expected from it`);
    if (!(message.payload instanceof Uint8Array)) this.fail('bad-encoding', message.from, 'payload is not bytes');
  }

  protected message(to: number, round: number, payload: Uint8Array): ProtocolMessage {
    return { version: MESSAGE_VERSION, protocol: this.state.protocol, session: this.state.session, from: this.state.me, to, round, payload };
  }

  protected fail(reason: AbortReason, culprit?: number, details?: string): never {
    throw new ProtocolAbortError({ protocol: this.state.protocol, round: this.state.round, reason, culprit, details });
  }

  /** Runs a peer's part of a round, so that a decode failure names that peer. */
  protected fromPeer<T>(peer: number, work: () => T): T {
    try {
      return work();
    } catch (error) {
      if (error instanceof DecodeError) this.fail(error.reason, peer, (error.cause as Error | undefined)?.message ?? error.message);
      throw error;
    }
  }

  protected assertRunning(): void {
    if (this.state.status === 'aborted') throw new PartyClosedError(this.state.protocol, 'aborted');
    if (this.state.status === 'finished') throw new PartyClosedError(this.state.protocol, 'finished');
  }

  /** Any failure inside a round kills the party: checklist item 4, never retry the same session. */
  protected guard<T>(round: number, work: () => T): T {
    try {
      return work();
    } catch (error) {
      this.state.status = 'aborted';
      this.state.inbox = {};
      if (error instanceof ProtocolAbortError) {
        this.state.abort = { round: error.round, reason: error.reason, culprit: error.culprit };
        throw error;
      }
      const reason: AbortReason = error instanceof DecodeError ? error.reason : 'bad-encoding';
      this.state.abort = { round, reason };
      if (error instanceof MpcError && !(error instanceof DecodeError)) throw error;
      throw new ProtocolAbortError({ protocol: this.state.protocol, round, reason, details: (error as Error).message, cause: error });
    }
  }
}

export function sessionHex(session: Uint8Array): string {
  return bytesToHex(session);
}
