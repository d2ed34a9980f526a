/** MqttTransport against a real in-process Aedes broker. */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import type { AuthenticateError } from 'aedes';
import { startBroker, startTap, waitFor, type TestBroker } from './aedes.test-support.js';
import { ChannelError } from './errors.js';
import { MAX_FRAME_BYTES, decodeFrame } from './frame.js';
import mqtt from 'mqtt';
import { MqttTransport, topicMatches, type TransportOptions } from './transport.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function broker(options: Parameters<typeof startBroker>[0] = {}): Promise<TestBroker> {
  const started = await startBroker(options);
  cleanups.push(() => started.close());
  return started;
}

function transport(options: Partial<TransportOptions> & { url: string }): MqttTransport {
  const created = new MqttTransport({ clientId: `t-${crypto.randomUUID()}`, reconnectPeriodMs: 100, ...options });
  cleanups.push(() => created.close());
  return created;
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

const bytes = (text: string) => new TextEncoder().encode(text);

function passwordBroker(): Promise<TestBroker> {
  return broker({
    authenticate: (_client, username, password, done) => {
      if (username === 'device' && password?.toString() === 'secret') return done(null, true);
      const error = new Error('bad credentials') as AuthenticateError;
      error.returnCode = 4;
      done(error, false);
    },
  });
}

describe('topicMatches', () => {
  it('follows MQTT wildcard rules', () => {
    expect(topicMatches('tandem/v1/w/+/to/cosigner', 'tandem/v1/w/ab/to/cosigner')).toBe(true);
    expect(topicMatches('tandem/v1/w/+/to/cosigner', 'tandem/v1/w/ab/to/cosigner/cs-1')).toBe(false);
    expect(topicMatches('tandem/v1/#', 'tandem/v1/status/cosigner')).toBe(true);
    expect(topicMatches('tandem/#', 'tandem')).toBe(true);
    expect(topicMatches('a/b', 'a/b')).toBe(true);
    expect(topicMatches('a/b', 'a/c')).toBe(false);
    expect(topicMatches('a/+', 'a')).toBe(false);
    expect(topicMatches('#', '$SYS/broker')).toBe(false);
    expect(topicMatches('$share/pool/tandem/v1/w/+/to/cosigner', 'tandem/v1/w/ab/to/cosigner')).toBe(true);
  });
});

describe('MqttTransport', () => {
  it('delivers QoS 1 messages to matching handlers and publishes without retain unless asked', async () => {
    const { url } = await broker();
    const a = transport({ url });
    const received: string[] = [];
    await a.subscribe('test/+', (topic, payload) => {
      received.push(`${topic}=${new TextDecoder().decode(payload)}`);
    });
    await a.connect();
    expect(a.state).toBe('online');
    const b = transport({ url });
    await b.connect();
    await b.publish('test/plain', bytes('one'));
    await b.publish('test/kept', bytes('two'), { retain: true });
    await waitFor(() => received.length === 2, 5000, 'two messages');
    expect(received).toEqual(['test/plain=one', 'test/kept=two']);

    const tap = await startTap(url);
    cleanups.push(() => tap.close());
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(tap.messages.map((message) => [message.topic, message.retain])).toEqual([['test/kept', true]]);
  });

  it('refuses bad credentials with CHANNEL_AUTH_REFUSED and ends closed', async () => {
    const { url } = await passwordBroker();
    const refused = transport({ url, username: 'device', password: 'wrong' });
    const error = await rejection(refused.connect());
    expect(error.code).toBe('CHANNEL_AUTH_REFUSED');
    expect(refused.state).toBe('closed');
    expect((await rejection(refused.publish('x', bytes('x')))).code).toBe('CHANNEL_AUTH_REFUSED');

    const accepted = transport({ url, username: 'device', password: 'secret' });
    await accepted.connect();
    expect(accepted.state).toBe('online');
  });

  it('closes with CHANNEL_AUTH_REFUSED when a reconnection is refused (expired credentials)', async () => {
    const started = await passwordBroker();
    const client = transport({ url: started.url, username: 'device', password: 'secret' });
    const states: string[] = [];
    client.onStateChange((state) => states.push(state));
    await client.connect();
    client.setCredentials('device', 'expired');
    started.dropConnections();
    await waitFor(() => client.state === 'closed', 5000, 'the refused reconnection');
    expect(client.closedBy?.code).toBe('CHANNEL_AUTH_REFUSED');
    expect(states).toEqual(['connecting', 'online', 'reconnecting', 'closed']);
  });

  it('fails the first connection with CHANNEL_CONNECT_FAILED when nothing listens', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const client = transport({ url: `mqtt://127.0.0.1:${port}` });
    expect((await rejection(client.connect())).code).toBe('CHANNEL_CONNECT_FAILED');
    expect(client.state).toBe('closed');
  });

  it('reports a refused subscription as CHANNEL_SUBSCRIBE_REFUSED', async () => {
    const { url } = await broker({
      authorizeSubscribe: (_client, subscription, callback) => callback(null, subscription.topic.startsWith('forbidden') ? null : subscription),
    });
    const client = transport({ url });
    await client.connect();
    expect((await rejection(client.subscribe('forbidden/#', () => undefined))).code).toBe('CHANNEL_SUBSCRIBE_REFUSED');
    await client.subscribe('allowed/#', () => undefined);
    expect(client.state).toBe('online');

    const early = transport({ url });
    await early.subscribe('forbidden/early', () => undefined);
    expect((await rejection(early.connect())).code).toBe('CHANNEL_SUBSCRIBE_REFUSED');
    expect(early.state).toBe('closed');
  });

  it('reconnects after the connection drops and receives what was queued meanwhile (clean: false)', async () => {
    const started = await broker();
    const receiver = transport({ url: started.url, clientId: 'receiver-fixed' });
    const received: string[] = [];
    await receiver.subscribe('queue/test', (_topic, payload) => {
      received.push(new TextDecoder().decode(payload));
    });
    await receiver.connect();
    const sender = transport({ url: started.url });
    await sender.connect();

    receiver.mqttClient!.options.reconnectPeriod = 600;
    receiver.mqttClient!.stream.destroy();
    await waitFor(() => receiver.state === 'reconnecting', 2000, 'the drop to be noticed');
    await sender.publish('queue/test', bytes('while away'));
    await waitFor(() => receiver.state === 'online', 5000, 'the reconnection');
    await waitFor(() => received.length === 1, 5000, 'the queued message');
    expect(received).toEqual(['while away']);
  });

  it('fails a publish waiting on a lost connection with CHANNEL_DISCONNECTED after the grace period', async () => {
    const started = await broker();
    const client = transport({ url: started.url, offlineGraceMs: 300 });
    await client.connect();
    await started.close();
    await waitFor(() => client.state === 'reconnecting', 3000, 'the drop to be noticed');
    const began = Date.now();
    const waiting = rejection(client.publish('x', bytes('queued while reconnecting')));
    expect((await waiting).code).toBe('CHANNEL_DISCONNECTED');
    expect(Date.now() - began).toBeGreaterThanOrEqual(250);
    expect(client.state).toBe('offline');
    expect((await rejection(client.publish('x', bytes('x')))).code).toBe('CHANNEL_DISCONNECTED');
  });

  it('keeps handling messages when one handler throws, and acknowledges after the handlers ran', async () => {
    const { url } = await broker();
    const errors: unknown[] = [];
    const client = transport({ url, onHandlerError: (error) => errors.push(error) });
    const seen: string[] = [];
    await client.subscribe('h/#', () => {
      throw new Error('handler bug');
    });
    await client.subscribe('h/+', async (topic) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      seen.push(topic);
    });
    await client.connect();
    const sender = transport({ url });
    await sender.connect();
    await sender.publish('h/1', bytes('1'));
    await sender.publish('h/2', bytes('2'));
    await waitFor(() => seen.length === 2, 5000, 'both messages');
    expect(seen).toEqual(['h/1', 'h/2']);
    expect(errors).toHaveLength(2);
  });

  it('pauses without firing its will, and on resume receives what was queued meanwhile', async () => {
    const started = await broker();
    const tap = await startTap(started.url);
    cleanups.push(() => tap.close());
    const receiver = transport({ url: started.url, clientId: 'paused-receiver', will: { topic: 'will/paused', payload: bytes('gone') } });
    const received: string[] = [];
    await receiver.subscribe('queue/paused', (_topic, payload) => {
      received.push(new TextDecoder().decode(payload));
    });
    await receiver.connect();
    const sender = transport({ url: started.url });
    await sender.connect();

    await receiver.pause();
    expect(receiver.state).toBe('paused');
    expect((await rejection(receiver.publish('x', bytes('x')))).code).toBe('CHANNEL_DISCONNECTED');
    await sender.publish('queue/paused', bytes('while paused'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(received).toEqual([]);
    expect(tap.messages.map((message) => message.topic)).toEqual(['queue/paused']);

    await receiver.resume();
    expect(receiver.state).toBe('online');
    await waitFor(() => received.length === 1, 5000, 'the queued message');
    expect(received).toEqual(['while paused']);
  });

  it('holds a queued message until a handler for it is added after the connection', async () => {
    const started = await broker();
    const receiver = transport({ url: started.url, clientId: 'late-handler' });
    const early = await receiver.subscribe('queue/late', () => undefined);
    await receiver.connect();
    await early({ atBroker: false });
    await receiver.pause();
    const sender = transport({ url: started.url });
    await sender.connect();
    await sender.publish('queue/late', bytes('held'));
    await receiver.resume();
    await new Promise((resolve) => setTimeout(resolve, 100));

    const received: string[] = [];
    await receiver.subscribe('queue/late', (_topic, payload) => {
      received.push(new TextDecoder().decode(payload));
    });
    await waitFor(() => received.length === 1, 5000, 'the held message');
    expect(received).toEqual(['held']);
  });

  it('drops a message no handler claims once the hold time is over, and goes on', async () => {
    const started = await broker();
    const receiver = transport({ url: started.url, clientId: 'no-handler', unmatchedHoldMs: 200 });
    const early = await receiver.subscribe('queue/#', () => undefined);
    await receiver.connect();
    await early({ atBroker: false });
    const received: string[] = [];
    await receiver.subscribe('queue/wanted', (topic) => {
      received.push(topic);
    });
    const sender = transport({ url: started.url });
    await sender.connect();
    const began = Date.now();
    await sender.publish('queue/unwanted', bytes('1'));
    await sender.publish('queue/wanted', bytes('2'));
    await waitFor(() => received.length === 1, 5000, 'the wanted message');
    expect(Date.now() - began).toBeGreaterThanOrEqual(150);
    expect(received).toEqual(['queue/wanted']);
  });

  it('uses a client built by createClient', async () => {
    const { url } = await broker();
    let built = 0;
    const client = transport({
      url: 'embedded://test',
      createClient: async (options) => {
        built++;
        return mqtt.connect(url, options);
      },
    });
    const received: string[] = [];
    await client.subscribe('made/+', (topic) => {
      received.push(topic);
    });
    await client.connect();
    await client.publish('made/here', bytes('x'));
    await waitFor(() => received.length === 1, 5000, 'the message');
    expect(built).toBe(1);
  });

  it('refuses payloads above the frame limit and publishes after close', async () => {
    const { url } = await broker();
    const client = transport({ url });
    await client.connect();
    expect((await rejection(client.publish('x', new Uint8Array(MAX_FRAME_BYTES + 1)))).code).toBe('CHANNEL_INVALID_ARGUMENT');
    await client.close();
    expect(client.state).toBe('closed');
    expect((await rejection(client.publish('x', bytes('late')))).code).toBe('CHANNEL_CLOSED');
  });
});

/** A connected transport that records every message it gets on `topic`. */
async function listening(url: string, topic: string, options: Partial<TransportOptions> = {}): Promise<Uint8Array[]> {
  const reader = transport({ url, ...options });
  const received: Uint8Array[] = [];
  await reader.subscribe(topic, (_topic, payload) => {
    received.push(payload);
  });
  await reader.connect();
  return received;
}

describe('fragments', () => {
  it('a large message leaves as small pieces and reaches a reassembling reader whole, once', async () => {
    const started = await broker();
    const tap = await startTap(started.url);
    cleanups.push(() => tap.close());
    const received = await listening(started.url, 'room/large', { reassembleFragments: true });
    const writer = transport({ url: started.url, fragmentAboveBytes: 3840 });
    await writer.connect();

    const large = crypto.getRandomValues(new Uint8Array(55_370));
    const small = crypto.getRandomValues(new Uint8Array(3840));
    await writer.publish('room/large', large);
    await writer.publish('room/large', small);
    await waitFor(() => received.length === 2, 5000, 'both messages');
    expect(Buffer.from(received[0]!).equals(Buffer.from(large))).toBe(true);
    expect(Buffer.from(received[1]!).equals(Buffer.from(small))).toBe(true);

    // On the wire: 15 pieces of at most 3840 bytes, then the small message as it is.
    await waitFor(() => tap.messages.filter((message) => message.topic === 'room/large').length === 16, 5000, 'the tap');
    const wire = tap.messages.filter((message) => message.topic === 'room/large');
    expect(wire.slice(0, 15).every((message) => message.payload.length <= 3840 && message.payload[0] === 0xf7)).toBe(true);
    expect(Buffer.from(wire[15]!.payload).equals(Buffer.from(small))).toBe(true);
    // Every piece has arrived by now: still exactly one copy of each message.
    expect(received).toHaveLength(2);
  });

  it('a reader that does not reassemble sees the pieces, which no frame parser takes for a frame', async () => {
    const started = await broker();
    const received = await listening(started.url, 'room/raw');
    const writer = transport({ url: started.url, fragmentAboveBytes: 1000 });
    await writer.connect();
    await writer.publish('room/raw', new Uint8Array(2500).fill(1));
    await waitFor(() => received.length === 3, 5000, 'three pieces');
    expect(received.every((piece) => piece[0] === 0xf7 && piece.length <= 1000)).toBe(true);
    for (const piece of received) expect(() => decodeFrame(piece)).toThrow(expect.objectContaining({ code: 'CHANNEL_BAD_FRAME' }));
  });

  it('a malformed piece goes to onHandlerError, and the messages after it still arrive', async () => {
    const started = await broker();
    const errors: unknown[] = [];
    const received = await listening(started.url, 'room/bad', { reassembleFragments: true, onHandlerError: (error) => errors.push(error) });
    const raw = transport({ url: started.url });
    await raw.connect();
    const malformed = new Uint8Array(20);
    malformed[0] = 0xf7;
    new DataView(malformed.buffer).setUint16(9, 5); // index 5 of count 0
    await raw.publish('room/bad', malformed);
    await raw.publish('room/bad', bytes('after'));
    await waitFor(() => received.length === 1, 5000, 'the next message');
    expect(new TextDecoder().decode(received[0])).toBe('after');
    expect(errors).toHaveLength(1);
    expect((errors[0] as ChannelError).code).toBe('CHANNEL_BAD_FRAME');
  });

  it('refuses a fragment size with no room for the header', () => {
    expect(() => new MqttTransport({ url: 'mqtt://127.0.0.1:1', clientId: 'x', fragmentAboveBytes: 10 })).toThrow(/fragmentAboveBytes/);
  });
});
