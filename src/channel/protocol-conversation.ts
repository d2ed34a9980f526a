/**
 * A conversation that speaks the co-signer protocol: numbered bodies, refusals turned into
 * typed errors, and a relay that runs local MPC parties against the remote ones.
 */
import { decodeMessage, encodeMessage, type ProtocolMessage } from '../mpc/message.js';
import type { Step } from '../mpc/party.js';
import { ProtocolAbortError } from '../mpc/errors.js';
import type { Conversation, ReceivedMessage } from './conversation.js';
import { ChannelError } from './errors.js';
import { decodeBody, encodeBody, ProtocolBodyError, type CosignerReply, type DeviceRequest, type ProtocolBody, type RefusalCode } from './cosigner-protocol.js';

/** The co-signer refused a request, or the other side aborted the protocol. */
export class CosignerRefusedError extends Error {
  override name = 'CosignerRefusedError';
  readonly code: RefusalCode;
  readonly shortMessage: string;
  readonly rule: string | undefined;
  constructor(code: RefusalCode, reason: string, rule?: string) {
    super(rule ? `The co-signer refused (${code}, rule ${rule}): ${reason}` : `The co-signer refused (${code}): ${reason}`);
    this.code = code;
    this.shortMessage = reason;
    this.rule = rule;
  }
}

export interface RelayParty<Result> {
  readonly partyId: number;
  receive(message: ProtocolMessage): Step<Result>;
}

type Header = DeviceRequest | CosignerReply;

const RECONNECT_POLL_MS = 200;

export class ProtocolConversation {
  readonly conversation: Conversation;
  readonly #timeoutMs: number;
  #round = 0;
  /**
   * Unix ms by which the request in progress must be done: what is sent carries it as its
   * expiry (a peer that comes back later refuses it), and waits end there. One conversation
   * can serve many requests, each with its own deadline.
   */
  deadline: number | undefined;

  constructor(conversation: Conversation, options: { timeoutMs?: number } = {}) {
    this.conversation = conversation;
    this.#timeoutMs = options.timeoutMs ?? 60_000;
  }

  async send(header: Header, messages: ProtocolMessage[] = []): Promise<void> {
    const body = encodeBody(header, messages.map(encodeMessage));
    const expiresAt = this.deadline === undefined ? undefined : Math.min(this.deadline, this.conversation.expiresAt);
    // The request's deadline passed while it waited its turn: that is the request expiring, not a bad argument.
    if (expiresAt !== undefined && expiresAt <= Date.now()) throw new ChannelError('CHANNEL_EXPIRED', 'The co-signer did not answer before the request expired.');
    await this.conversation.send(++this.#round, body, expiresAt === undefined ? {} : { expiresAt });
  }

  /** The next body; a refusal from the peer becomes a CosignerRefusedError. */
  async receive<H extends Header>(allowed: readonly H['type'][]): Promise<{ header: H; messages: ProtocolMessage[] }> {
    const received = await this.#receiveThroughReconnects();
    this.#round = Math.max(this.#round, received.round);
    const body: ProtocolBody<H | Extract<CosignerReply, { type: 'refused' }>> = decodeBody(received.body, [...allowed, 'refused']);
    if (body.header.type === 'refused') {
      const refused = body.header as Extract<CosignerReply, { type: 'refused' }>;
      throw new CosignerRefusedError(refused.code, refused.reason, refused.rule);
    }
    return { header: body.header as H, messages: body.messages.map((bytes) => decodeMessage(bytes)) };
  }

  /**
   * Runs local parties until `done` holds: messages between local parties stay in-process,
   * messages for remote parties leave as one body per step (the first under `firstHeader`).
   * A local abort is told to the peer before it is rethrown, so the peer does not wait for nothing.
   */
  async relay<Result>(args: {
    parties: RelayParty<Result>[];
    /** What the local parties' start() produced. */
    initial: ProtocolMessage[];
    /** Messages that came from the peer with the request. */
    incoming?: ProtocolMessage[];
    done: (results: Map<number, Result>) => boolean;
    firstHeader?: Header;
    header: Header;
    allowed: readonly Header['type'][];
  }): Promise<Map<number, Result>> {
    const byId = new Map(args.parties.map((party) => [party.partyId, party]));
    // The peer speaks only for its own parties, and only to ours: nothing is bounced back, and
    // nobody over there can pose as a party that runs here (the backup during keygen).
    const fromPeer = (messages: ProtocolMessage[]) => {
      for (const message of messages) {
        if (!byId.has(message.to) || byId.has(message.from)) throw new ProtocolBodyError(`a message from party ${message.from} to party ${message.to} cannot come from the peer`);
      }
      return messages;
    };
    const results = new Map<number, Result>();
    const queue = [...args.initial, ...fromPeer(args.incoming ?? [])];
    let nextHeader: Header | undefined = args.firstHeader;
    for (;;) {
      const remote: ProtocolMessage[] = [];
      try {
        while (queue.length) {
          const message = queue.shift()!;
          const party = byId.get(message.to);
          if (!party) {
            remote.push(message);
            continue;
          }
          const step = party.receive(message);
          queue.push(...step.outgoing);
          if (step.result !== undefined) results.set(party.partyId, step.result);
        }
      } catch (error) {
        if (error instanceof ProtocolAbortError) await this.refuse('PROTOCOL_ABORT', error.shortMessage).catch(() => undefined);
        throw error;
      }
      if (remote.length || nextHeader) {
        await this.send(nextHeader ?? args.header, remote);
        nextHeader = undefined;
      }
      if (args.done(results)) return results;
      const { messages } = await this.receive(args.allowed);
      queue.push(...fromPeer(messages));
    }
  }

  /** Waits out broker reconnections (the session survives them) until the deadline or timeout. */
  async #receiveThroughReconnects(): Promise<ReceivedMessage> {
    const end = this.deadline ?? Date.now() + this.#timeoutMs;
    for (;;) {
      try {
        return await this.conversation.receive({ timeoutMs: Math.max(0, end - Date.now()) });
      } catch (error) {
        const retry = error instanceof ChannelError && error.code === 'CHANNEL_DISCONNECTED' && !this.conversation.closed && Date.now() + RECONNECT_POLL_MS < end;
        if (!retry) throw error;
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_POLL_MS));
      }
    }
  }

  async refuse(code: RefusalCode, reason: string, rule?: string): Promise<void> {
    await this.send(rule === undefined ? { type: 'refused', code, reason } : { type: 'refused', code, reason, rule });
  }
}
