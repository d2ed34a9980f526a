/** Test support: a real in-process Aedes broker on an ephemeral port, and a tap that records every message. */
import { Aedes, type AedesOptions } from 'aedes';
import { createServer, type Socket } from 'node:net';
import mqtt from 'mqtt';

export interface TestBroker {
  url: string;
  broker: Aedes;
  /** Cuts every client connection at once, as if the broker host vanished; the listener stays. */
  dropConnections(): void;
  /** Stops listening and cuts every connection, keeping the broker's sessions; resume() listens again on the same port. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Stops listening and cuts every connection. */
  close(): Promise<void>;
}

export async function startBroker(options: AedesOptions = {}): Promise<TestBroker> {
  const broker = await Aedes.createBroker(options);
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  const port = address.port;
  const dropConnections = () => {
    for (const socket of sockets) socket.destroy();
  };
  const stopListening = () => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
  return {
    url: `mqtt://127.0.0.1:${port}`,
    broker,
    dropConnections,
    async pause() {
      const closed = stopListening();
      dropConnections();
      await closed;
    },
    async resume() {
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    async close() {
      const closed = stopListening();
      dropConnections();
      await closed;
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}

export interface TapMessage {
  topic: string;
  payload: Uint8Array;
  retain: boolean;
}

/** A client subscribed to '#' (full broker rights in these tests) that records everything it sees. */
export async function startTap(url: string): Promise<{ messages: TapMessage[]; client: mqtt.MqttClient; close(): Promise<void> }> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 4, clientId: `tap-${crypto.randomUUID()}`, reconnectPeriod: 0 });
  const messages: TapMessage[] = [];
  client.on('message', (topic, payload, packet) => messages.push({ topic, payload: new Uint8Array(payload), retain: packet.retain }));
  await client.subscribeAsync('#', { qos: 1 });
  return { messages, client, close: () => client.endAsync() };
}

/** Polls until `check` returns true, or fails after `timeoutMs`. */
export async function waitFor(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
