/** TLS options pass through to mqtts:// and wss:// (Node), including client certificates for mutual TLS. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { Aedes } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { waitFor } from './aedes.test-support.js';
import { ChannelError } from './errors.js';
import { MqttTransport, type TransportOptions } from './transport.js';

let dir: string;
const pem: Record<string, string> = {};

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

function issue(name: string, subject: string, extensions: string): void {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`);
  pem[`${name}Key`] = readFileSync(join(dir, `${name}.key`), 'utf8');
  pem[`${name}Cert`] = readFileSync(join(dir, `${name}.crt`), 'utf8');
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tandem-channel-tls-'));
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=tandem test CA', '-days', '1');
  pem.ca = readFileSync(join(dir, 'ca.crt'), 'utf8');
  issue('server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  issue('client', '/CN=cosigner-1', 'extendedKeyUsage=clientAuth\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function listen(server: TlsServer | ReturnType<typeof createHttpsServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as { port: number }).port;
}

async function aedes(): Promise<Aedes> {
  const broker = await Aedes.createBroker();
  cleanups.push(() => new Promise<void>((resolve) => broker.close(() => resolve())));
  return broker;
}

async function mqttsBroker(options: { requireClientCert?: boolean } = {}): Promise<string> {
  const broker = await aedes();
  const server = createTlsServer(
    { key: pem.serverKey, cert: pem.serverCert, ca: pem.ca, requestCert: options.requireClientCert ?? false, rejectUnauthorized: options.requireClientCert ?? false },
    (socket) => broker.handle(socket),
  );
  return `mqtts://127.0.0.1:${await listen(server)}`;
}

async function wssBroker(): Promise<string> {
  const broker = await aedes();
  const server = createHttpsServer({ key: pem.serverKey, cert: pem.serverCert });
  const sockets = new WebSocketServer({ server });
  sockets.on('connection', (socket) => broker.handle(createWebSocketStream(socket)));
  cleanups.push(() => new Promise<void>((resolve) => sockets.close(() => resolve())));
  return `wss://127.0.0.1:${await listen(server)}`;
}

function transport(options: Partial<TransportOptions> & { url: string }): MqttTransport {
  const created = new MqttTransport({ clientId: `tls-${crypto.randomUUID()}`, reconnectPeriodMs: 100, connectTimeoutMs: 3000, ...options });
  cleanups.push(() => created.close());
  return created;
}

async function roundTrip(url: string, tls: TransportOptions['tls']): Promise<Uint8Array> {
  const receiver = transport({ url, tls });
  const received: Uint8Array[] = [];
  await receiver.subscribe('tls/test', (_topic, payload) => {
    received.push(payload);
  });
  await receiver.connect();
  const sender = transport({ url, tls });
  await sender.connect();
  const payload = new Uint8Array([0, 1, 2, 250, 251, 252, 253, 254, 255]);
  await sender.publish('tls/test', payload);
  await waitFor(() => received.length === 1, 5000, 'the message');
  return received[0]!;
}

async function connectError(options: Partial<TransportOptions> & { url: string }): Promise<ChannelError> {
  try {
    await transport(options).connect();
  } catch (error) {
    if (error instanceof ChannelError) return error;
    throw error;
  }
  throw new Error('expected the connection to fail');
}

describe('TLS pass-through', () => {
  it('connects over mqtts:// trusting the given CA, and refuses a server it cannot verify', async () => {
    const url = await mqttsBroker();
    expect(await roundTrip(url, { ca: pem.ca })).toEqual(new Uint8Array([0, 1, 2, 250, 251, 252, 253, 254, 255]));
    expect((await connectError({ url })).code).toBe('CHANNEL_CONNECT_FAILED');
  });

  it('connects over wss:// with binary payloads intact', async () => {
    const url = await wssBroker();
    expect(await roundTrip(url, { ca: pem.ca })).toEqual(new Uint8Array([0, 1, 2, 250, 251, 252, 253, 254, 255]));
    expect((await connectError({ url })).code).toBe('CHANNEL_CONNECT_FAILED');
  });

  it('presents a client certificate for mutual TLS', async () => {
    const url = await mqttsBroker({ requireClientCert: true });
    const client = transport({ url, tls: { ca: pem.ca, cert: pem.clientCert, key: pem.clientKey } });
    await client.connect();
    expect(client.state).toBe('online');
    expect((await connectError({ url, tls: { ca: pem.ca } })).code).toBe('CHANNEL_CONNECT_FAILED');
  });
});
