/**
 * relay() in isolation, over an in-memory stand-in for a conversation (the real one is exercised
 * end to end in src/cosigner/service.test.ts): what the peer may and may not send.
 */
import { describe, expect, it } from 'vitest';
import { DkgParty } from '../mpc/dkg.js';
import { randomBytes } from '../mpc/bytes.js';
import type { ProtocolMessage } from '../mpc/message.js';
import type { Conversation, ReceivedMessage } from './conversation.js';
import { decodeBody, encodeBody, ProtocolBodyError, type CosignerReply } from './cosigner-protocol.js';
import { ProtocolConversation } from './protocol-conversation.js';
import { encodeMessage } from '../mpc/message.js';

/** Delivers scripted bodies and records what was sent. */
function scriptedConversation(incoming: Uint8Array[]): { conversation: Conversation; sent: Uint8Array[] } {
  const sent: Uint8Array[] = [];
  let round = 0;
  const conversation = {
    expiresAt: Date.now() + 60_000,
    closed: false,
    send: async (_round: number, body: Uint8Array) => {
      sent.push(body);
    },
    receive: async (): Promise<ReceivedMessage> => {
      const body = incoming.shift();
      if (!body) throw new Error('nothing more scripted');
      return { round: ++round, body };
    },
  } as unknown as Conversation;
  return { conversation, sent };
}

function keygenParties(session: Uint8Array) {
  const parties = [1, 2, 3];
  return parties.map((partyId) => DkgParty.create({ session, partyId, parties }));
}

describe('relay', () => {
  it('refuses a message from the peer that poses as a party running here', async () => {
    const session = randomBytes(32);
    const [device, , backup] = keygenParties(session);
    // The co-signer's side forges a round-1 message "from the backup" to the device.
    const forged: ProtocolMessage = { ...backup!.start().find((message) => message.to === 1)!, from: 3 };
    const reply = encodeBody({ type: 'mpc' } satisfies CosignerReply, [encodeMessage(forged)]);
    const { conversation } = scriptedConversation([reply]);
    const link = new ProtocolConversation(conversation);
    const local = [device!, DkgParty.create({ session, partyId: 3, parties: [1, 2, 3] })];
    await expect(
      link.relay({ parties: local, initial: local.flatMap((party) => party.start()), done: () => false, header: { type: 'mpc' }, allowed: ['mpc'] }),
    ).rejects.toBeInstanceOf(ProtocolBodyError);
  });

  it('refuses a message from the peer addressed to a party that is not here', async () => {
    const session = randomBytes(32);
    const [device, cosigner] = keygenParties(session);
    const toItself = cosigner!.start().find((message) => message.to === 3)!;
    const { conversation } = scriptedConversation([encodeBody({ type: 'mpc' } satisfies CosignerReply, [encodeMessage(toItself)])]);
    const link = new ProtocolConversation(conversation);
    await expect(
      link.relay({ parties: [device!], initial: device!.start(), done: () => false, header: { type: 'mpc' }, allowed: ['mpc'] }),
    ).rejects.toThrow(/cannot come from the peer/);
  });

  it('sends what is for the peer in one body per step, under the request header first', async () => {
    const session = randomBytes(32);
    const [device] = keygenParties(session);
    const { conversation, sent } = scriptedConversation([]);
    const link = new ProtocolConversation(conversation);
    await expect(
      link.relay({
        parties: [device!],
        initial: device!.start(),
        done: () => false,
        firstHeader: { type: 'keygen', parties: [1, 2, 3], session: '0x00' },
        header: { type: 'mpc' },
        allowed: ['mpc'],
      }),
    ).rejects.toThrow('nothing more scripted');
    expect(sent).toHaveLength(1);
    const body = decodeBody<{ type: 'keygen' }>(sent[0]!, ['keygen']);
    expect(body.header.type).toBe('keygen');
    expect(body.messages).toHaveLength(2);
  });
});
