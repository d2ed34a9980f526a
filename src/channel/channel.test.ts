/** The channel end to end through a real in-process Aedes broker (MQTT 3.1.1). */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bytesToHex, randomBytes } from '../mpc/bytes.js';
import { startBroker, startTap, waitFor, type TestBroker } from './aedes.test-support.js';
import { Channel, type ChannelOptions, type RejectedFrame } from './channel.js';
import type { Conversation } from './conversation.js';
import { ChannelError } from './errors.js';
import { decodeFrame } from './frame.js';
import { Identity } from './identity.js';
import { COSIGNER_INBOX_FILTER, deviceClientId, inboxTopic, instanceInboxTopic, type ChannelRole } from './topics.js';
import { MqttTransport } from './transport.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MARKER = 'PLAINTEXT-MARKER-7f3a';

let broker: TestBroker;
const cleanups: Array<() => Promise<unknown>> = [];

beforeEach(async () => {
  broker = await startBroker();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  await broker.close();
});

interface Party {
  transport: MqttTransport;
  channel: Channel;
  rejected: Array<{ error: ChannelError; where: RejectedFrame }>;
}

async function party(
  identity: Identity,
  role: ChannelRole,
  options: Partial<ChannelOptions> & {
    clientId?: string;
    offlineGraceMs?: number;
    walletIds?: string[];
    /** Set before connecting, as a co-signer must, so that queued hellos find it. */
    onConversation?: (conversation: Conversation) => void | Promise<void>;
  } = {},
): Promise<Party> {
  const transport = new MqttTransport({
    url: broker.url,
    clientId: options.clientId ?? (role === 'device' ? deviceClientId(identity.deviceId) : `cosigner-${bytesToHex(randomBytes(4))}`),
    reconnectPeriodMs: 100,
    offlineGraceMs: options.offlineGraceMs ?? 5000,
  });
  cleanups.push(() => transport.close());
  const rejected: Party['rejected'] = [];
  const inboxes = options.inboxes ?? (role === 'device' ? (options.walletIds ?? []).map((walletId) => inboxTopic(walletId, 'device')) : [COSIGNER_INBOX_FILTER]);
  const channel = await Channel.create({
    transport,
    identity,
    role,
    inboxes,
    onRejected: (error, where) => rejected.push({ error, where }),
    ...options,
  });
  if (options.onConversation) channel.onConversation(options.onConversation);
  await transport.connect();
  return { transport, channel, rejected };
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

async function rejection(promise: Promise<unknown>): Promise<ChannelError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ChannelError) return error;
    throw error;
  }
  throw new Error('expected a ChannelError, but it resolved');
}

/** A co-signer handler that answers `steps` rounds with "reply <n>: <request>". */
function echoHandler(steps: number, log: string[]) {
  return async (conversation: Conversation) => {
    try {
      for (let step = 1; step <= steps; step++) {
        const { round, body } = await conversation.receive({ timeoutMs: 10_000 });
        log.push(`got ${round}`);
        await conversation.send(round, encoder.encode(`${MARKER} reply ${round}: ${decoder.decode(body)}`));
      }
      log.push('done');
    } catch (error) {
      log.push(`error ${(error as ChannelError).code}`);
    }
  };
}

async function talk(conversation: Conversation, steps: number): Promise<string[]> {
  const replies: string[] = [];
  for (let step = 1; step <= steps; step++) {
    await conversation.send(step, encoder.encode(`${MARKER} step ${step}`));
    const { round, body } = await conversation.receive({ timeoutMs: 10_000 });
    expect(round).toBe(step);
    replies.push(decoder.decode(body));
  }
  return replies;
}

describe('Channel over a real Aedes broker', () => {
  it('runs a 3-step conversation, and a tap with full broker rights sees no plaintext', async () => {
    const tap = await startTap(broker.url);
    cleanups.push(() => tap.close());
    const walletId = bytesToHex(randomBytes(16));
    const device = Identity.generate();
    const cosigner = Identity.generate();
    const log: string[] = [];
    const cs = await party(cosigner, 'cosigner', { resolvePeer: (wallet, role) => (wallet === walletId && role === 'device' ? device.publicKey : undefined) });
    cs.channel.onConversation(echoHandler(3, log));
    const dv = await party(device, 'device', { walletIds: [walletId] });

    const conversation = await dv.channel.open({ walletId, peerRole: 'cosigner', peerIdentity: cosigner.publicKey, expiresAt: Date.now() + 30_000 });
    const replies = await talk(conversation, 3);
    expect(replies).toEqual([1, 2, 3].map((step) => `${MARKER} reply ${step}: ${MARKER} step ${step}`));
    await waitFor(() => log.includes('done'), 5000, 'the co-signer handler');
    conversation.close();

    await waitFor(() => tap.messages.length >= 8, 5000, 'the tap to see 8 frames');
    const marker = encoder.encode(MARKER);
    const types = tap.messages.map((message) => {
      expect(contains(message.payload, marker), `plaintext on ${message.topic}`).toBe(false);
      expect(message.retain).toBe(false);
      return `${decodeFrame(message.payload).type}@${message.topic.split('/').pop()}`;
    });
    expect(types).toEqual([
      'hello@cosigner',
      'accept@device',
      'data@cosigner',
      'data@device',
      'data@cosigner',
      'data@device',
      'data@cosigner',
      'data@device',
    ]);
    expect(cs.rejected).toEqual([]);
    expect(dv.rejected).toEqual([]);
  });

  it('serves a request made while the co-signer was offline once it reconnects with the same client id', async () => {
    const walletId = bytesToHex(randomBytes(16));
    const device = Identity.generate();
    const cosigner = Identity.generate();
    const clientId = 'cosigner-offline-test';
    const resolvePeer = () => device.publicKey;

    const first = await party(cosigner, 'cosigner', { clientId, resolvePeer });
    await first.channel.close();
    await first.transport.close();

    const tap = await startTap(broker.url);
    cleanups.push(() => tap.close());
    const dv = await party(device, 'device', { walletIds: [walletId] });
    const conversation = await dv.channel.open({ walletId, peerRole: 'cosigner', peerIdentity: cosigner.publicKey, expiresAt: Date.now() + 30_000 });
    const replies = talk(conversation, 2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(tap.messages.map((message) => decodeFrame(message.payload).type)).toEqual(['hello']);
    expect(conversation.established).toBe(false);

    const log: string[] = [];
    await party(cosigner, 'cosigner', { clientId, resolvePeer, onConversation: echoHandler(2, log) });
    await expect(replies).resolves.toEqual([1, 2].map((step) => `${MARKER} reply ${step}: ${MARKER} step ${step}`));
  });

  it('serves a request that arrived while the co-signer paused its transport and closed its channel', async () => {
    const walletId = bytesToHex(randomBytes(16));
    const device = Identity.generate();
    const cosigner = Identity.generate();
    const resolvePeer = () => device.publicKey;
    const cs = await party(cosigner, 'cosigner', { resolvePeer });
    await cs.channel.close();
    await cs.transport.pause();

    const dv = await party(device, 'device', { walletIds: [walletId] });
    const conversation = await dv.channel.open({ walletId, peerRole: 'cosigner', peerIdentity: cosigner.publicKey, expiresAt: Date.now() + 30_000 });
    const replies = talk(conversation, 2);
    await new Promise((resolve) => setTimeout(resolve, 200));

    // As the co-signer service does: resume, then a new channel, then its handler.
    await cs.transport.resume();
    const channel = await Channel.create({ transport: cs.transport, identity: cosigner, role: 'cosigner', inboxes: [COSIGNER_INBOX_FILTER], resolvePeer });
    const log: string[] = [];
    channel.onConversation(echoHandler(2, log));
    await expect(replies).resolves.toEqual([1, 2].map((step) => `${MARKER} reply ${step}: ${MARKER} step ${step}`));
  });

  it('rejects a pending receive with CHANNEL_EXPIRED when the request expires, and CHANNEL_TIMEOUT before that', async () => {
    const walletId = bytesToHex(randomBytes(16));
    const device = Identity.generate();
    const dv = await party(device, 'device', { walletIds: [walletId] });
    const conversation = await dv.channel.open({ walletId, peerRole: 'cosigner', peerIdentity: Identity.generate().publicKey, expiresAt: Date.now() + 1200 });
    const started = Date.now();
    expect((await rejection(conversation.receive({ timeoutMs: 200 }))).code).toBe('CHANNEL_TIMEOUT');
    expect(conversation.closed).toBe(false);
    const pendingSend = rejection(conversation.send(1, encoder.encode('never accepted')));
    expect((await rejection(conversation.receive())).code).toBe('CHANNEL_EXPIRED');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1100);
    expect((await pendingSend).code).toBe('CHANNEL_EXPIRED');
    expect((await rejection(conversation.receive())).code).toBe('CHANNEL_EXPIRED');
  });

  it('rejects a pending receive with CHANNEL_DISCONNECTED when the broker goes away mid-request', async () => {
    const walletId = bytesToHex(randomBytes(16));
    const device = Identity.generate();
    const dv = await party(device, 'device', { walletIds: [walletId], offlineGraceMs: 300 });
    const conversation = await dv.channel.open({ walletId, peerRole: 'cosigner', peerIdentity: Identity.generate().publicKey, expiresAt: Date.now() + 60_000 });
    const pending = rejection(conversation.receive());
    const started = Date.now();
    await broker.close();
    expect((await pending).code).toBe('CHANNEL_DISCONNECTED');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(dv.transport.state).toBe('offline');
    expect((await rejection(conversation.receive())).code).toBe('CHANNEL_DISCONNECTED');
    broker = await startBroker();
  });

  it('sends a message committed while the broker was unreachable once it is back, without a gap', async () => {
    const walletId = bytesToHex(randomBytes(16));
    const device = Identity.generate();
    const cosigner = Identity.generate();
    const log: string[] = [];
    await party(cosigner, 'cosigner', { resolvePeer: () => device.publicKey, onConversation: echoHandler(3, log) });
    const dv = await party(device, 'device', { walletIds: [walletId], offlineGraceMs: 200 });
    const conversation = await dv.channel.open({ walletId, peerRole: 'cosigner', peerIdentity: cosigner.publicKey, expiresAt: Date.now() + 30_000 });
    await talk(conversation, 1);

    await broker.pause();
    await waitFor(() => dv.transport.state === 'offline', 5000, 'the device to go offline');
    expect((await rejection(conversation.send(2, encoder.encode(`${MARKER} step 2`)))).code).toBe('CHANNEL_DISCONNECTED');
    expect(conversation.export().outbox).toHaveLength(1);
    await broker.resume();
    await waitFor(() => dv.transport.state === 'online', 5000, 'the device to reconnect');

    const reply = await conversation.receive({ timeoutMs: 10_000 });
    expect(reply.round).toBe(2);
    expect(conversation.export().outbox).toHaveLength(0);
    await conversation.send(3, encoder.encode(`${MARKER} step 3`));
    expect((await conversation.receive({ timeoutMs: 10_000 })).round).toBe(3);
    await waitFor(() => log.includes('done'), 5000, 'the co-signer handler');
    expect(log).toEqual(['got 1', 'got 2', 'got 3', 'done']);
  });

  /** A device and a co-signer with a tap on the broker, after the device's first data frame reached the co-signer. */
  async function firstFrameThroughTap() {
    const tap = await startTap(broker.url);
    cleanups.push(() => tap.close());
    const walletId = bytesToHex(randomBytes(16));
    const device = Identity.generate();
    const cosigner = Identity.generate();
    const cs = await party(cosigner, 'cosigner', { resolvePeer: () => device.publicKey });
    let responder: Conversation | undefined;
    cs.channel.onConversation((conversation) => {
      responder = conversation;
    });
    const dv = await party(device, 'device', { walletIds: [walletId] });
    const conversation = await dv.channel.open({ walletId, peerRole: 'cosigner', peerIdentity: cosigner.publicKey, expiresAt: Date.now() + 30_000 });
    await conversation.send(1, encoder.encode('first'));
    await waitFor(() => responder !== undefined, 5000, 'the responder');
    return { tap, cs, conversation, responder: responder! };
  }

  it('aborts the session cleanly on a tampered frame and drops an exact duplicate', async () => {
    const { tap, cs, conversation, responder } = await firstFrameThroughTap();
    expect(decoder.decode((await responder.receive({ timeoutMs: 5000 })).body)).toBe('first');

    const original = tap.messages.find((message) => message.topic.endsWith('/to/cosigner') && decodeFrame(message.payload).type === 'data')!;
    // QoS 1 style redelivery of the same bytes: dropped without a trace.
    await tap.client.publishAsync(original.topic, original.payload as never, { qos: 1 });
    await conversation.send(2, encoder.encode('second'));
    expect(decoder.decode((await responder.receive({ timeoutMs: 5000 })).body)).toBe('second');

    // The first frame again, moved to the next sequence number: authentication fails.
    const forged = original.payload.slice();
    new DataView(forged.buffer).setUint32(2 + 16 + 16 + 1 + 4, 2);
    const pending = rejection(responder.receive({ timeoutMs: 5000 }));
    await tap.client.publishAsync(original.topic, forged as never, { qos: 1 });
    expect((await pending).code).toBe('CHANNEL_TAMPERED');
    expect(responder.closed).toBe(true);
    expect(cs.rejected.map((entry) => entry.error.code)).toEqual(['CHANNEL_TAMPERED']);
  });

  it('aborts on a replayed sequence number with different bytes', async () => {
    const { tap, responder } = await firstFrameThroughTap();
    await responder.receive({ timeoutMs: 5000 });
    const original = tap.messages.find((message) => message.topic.endsWith('/to/cosigner') && decodeFrame(message.payload).type === 'data')!;
    const altered = original.payload.slice();
    altered[altered.length - 1]! ^= 1;
    const pending = rejection(responder.receive({ timeoutMs: 5000 }));
    await tap.client.publishAsync(original.topic, altered as never, { qos: 1 });
    expect((await pending).code).toBe('CHANNEL_REPLAY');
    expect((await rejection(responder.send(1, encoder.encode('no')))).code).toBe('CHANNEL_REPLAY');
  });

  it('restores a conversation after the device worker died between hello and accept', async () => {
    const tap = await startTap(broker.url);
    cleanups.push(() => tap.close());
    const walletId = bytesToHex(randomBytes(16));
    const device = Identity.generate();
    const cosigner = Identity.generate();
    const clientId = 'cosigner-restore-test';
    const resolvePeer = () => device.publicKey;
    const away = await party(cosigner, 'cosigner', { clientId, resolvePeer });
    await away.transport.close();

    const before = await party(device, 'device', { walletIds: [walletId] });
    const conversation = await before.channel.open({ walletId, peerRole: 'cosigner', peerIdentity: cosigner.publicKey, expiresAt: Date.now() + 30_000 });
    const saved = JSON.stringify(conversation.export());
    expect(JSON.parse(saved).session.phase).toBe('awaiting-accept');
    // The worker dies: no DISCONNECT, nothing kept in memory.
    before.transport.mqttClient!.end(true);
    await before.transport.close();

    // The co-signer returns and accepts while the device is gone: the broker queues the accept.
    const log: string[] = [];
    await party(cosigner, 'cosigner', { clientId, resolvePeer, onConversation: echoHandler(1, log) });
    await waitFor(() => tap.messages.some((message) => decodeFrame(message.payload).type === 'accept'), 5000, 'the accept');

    // A new worker connects; the queued accept arrives before the conversation is restored.
    const after = await party(Identity.fromSecretKey(device.exportSecretKey()), 'device', { walletIds: [walletId] });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const restored = await after.channel.restore(JSON.parse(saved));
    expect(restored.established).toBe(true);
    await expect(talk(restored, 1)).resolves.toEqual([`${MARKER} reply 1: ${MARKER} step 1`]);
  });

  it('sends the rest of a session to the instance inbox a pooled co-signer names in its accept', async () => {
    const tap = await startTap(broker.url);
    cleanups.push(() => tap.close());
    const walletId = bytesToHex(randomBytes(16));
    const device = Identity.generate();
    const cosigner = Identity.generate();
    const log: string[] = [];
    const cs = await party(cosigner, 'cosigner', { resolvePeer: () => device.publicKey, instanceId: 'cs-a' });
    cs.channel.onConversation(echoHandler(2, log));
    const dv = await party(device, 'device', { walletIds: [walletId] });
    const conversation = await dv.channel.open({ walletId, peerRole: 'cosigner', peerIdentity: cosigner.publicKey, expiresAt: Date.now() + 30_000 });
    await talk(conversation, 2);
    const toCosigner = tap.messages.filter((message) => message.topic.includes('/to/cosigner'));
    expect(toCosigner.map((message) => message.topic)).toEqual([
      inboxTopic(walletId, 'cosigner'),
      instanceInboxTopic(walletId, 'cosigner', 'cs-a'),
      instanceInboxTopic(walletId, 'cosigner', 'cs-a'),
    ]);
  });

  it('refuses hellos from unknown wallets and from identities other than the pinned one', async () => {
    const walletId = bytesToHex(randomBytes(16));
    const device = Identity.generate();
    const impostor = Identity.generate();
    const cosigner = Identity.generate();
    const cs = await party(cosigner, 'cosigner', { resolvePeer: (wallet) => (wallet === walletId ? device.publicKey : undefined) });
    let answered = 0;
    cs.channel.onConversation(() => {
      answered++;
    });

    const stranger = await party(impostor, 'device', { walletIds: [walletId] });
    const wrong = await stranger.channel.open({ walletId, peerRole: 'cosigner', peerIdentity: cosigner.publicKey, expiresAt: Date.now() + 30_000 });
    const otherWallet = bytesToHex(randomBytes(16));
    await stranger.channel.listen(inboxTopic(otherWallet, 'device'));
    const unknown = await stranger.channel.open({ walletId: otherWallet, peerRole: 'cosigner', peerIdentity: cosigner.publicKey, expiresAt: Date.now() + 30_000 });
    await waitFor(() => cs.rejected.length >= 2, 5000, 'two refusals');
    expect(cs.rejected.map((entry) => entry.error.code).sort()).toEqual(['CHANNEL_UNKNOWN_PEER', 'CHANNEL_WRONG_PEER']);
    expect(answered).toBe(0);
    expect((await rejection(wrong.receive({ timeoutMs: 200 }))).code).toBe('CHANNEL_TIMEOUT');
    expect((await rejection(unknown.receive({ timeoutMs: 200 }))).code).toBe('CHANNEL_TIMEOUT');
  });
});
