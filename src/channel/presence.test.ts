/** Co-signer presence through a real in-process Aedes broker. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startBroker, startTap, waitFor, type TestBroker } from './aedes.test-support.js';
import { ChannelError } from './errors.js';
import { Identity } from './identity.js';
import { presenceWill, signStatus, startPresence, verifyStatus, watchPresence, type PresenceStatus } from './presence.js';
import { COSIGNER_STATUS_TOPIC } from './topics.js';
import { MqttTransport, type TransportOptions } from './transport.js';

let broker: TestBroker;
const cleanups: Array<() => Promise<unknown>> = [];
beforeEach(async () => {
  broker = await startBroker();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  await broker.close();
});

async function connect(options: Partial<TransportOptions> = {}): Promise<MqttTransport> {
  const transport = new MqttTransport({ url: broker.url, clientId: `p-${crypto.randomUUID()}`, reconnectPeriodMs: 100, ...options });
  cleanups.push(() => transport.close());
  await transport.connect();
  return transport;
}

async function watch(cosigner: Identity, options: Parameters<typeof watchPresence>[3] = {}) {
  const device = await connect();
  const changes: PresenceStatus[] = [];
  const rejected: ChannelError[] = [];
  const watcher = await watchPresence(device, cosigner.publicKey, (status) => changes.push(status), {
    onRejected: (error) => rejected.push(error),
    ...options,
  });
  cleanups.push(() => watcher.stop());
  return { device, watcher, changes, rejected, states: () => changes.map((change) => change.state) };
}

describe('status frames', () => {
  it('verify only against the pinned co-signer key', () => {
    const cosigner = Identity.generate();
    const frame = signStatus(cosigner, { state: 'online', instanceId: 'cs-1', startedAt: 1000, issuedAt: 2000, heartbeatMs: 500 });
    expect(verifyStatus(frame, cosigner.publicKey)).toMatchObject({ state: 'online', instance: 'cs-1', startedAt: 1000, issuedAt: 2000, heartbeatMs: 500 });
    expect(() => verifyStatus(frame, Identity.generate().publicKey)).toThrow(expect.objectContaining({ code: 'CHANNEL_BAD_SIGNATURE' }));
    const altered = frame.slice();
    altered[2] = 2;
    expect(() => verifyStatus(altered, cosigner.publicKey)).toThrow(expect.objectContaining({ code: 'CHANNEL_BAD_SIGNATURE' }));
  });
});

describe('co-signer presence over a real broker', () => {
  it('shows online from the retained status, then offline from the last will when the co-signer dies', async () => {
    const cosigner = Identity.generate();
    const instance = { instanceId: 'cs-1', startedAt: Date.now() };
    const server = await connect({ will: presenceWill(cosigner, instance), reconnectPeriodMs: 60_000 });
    await startPresence(server, cosigner, instance);

    const { watcher, changes, states } = await watch(cosigner);
    await waitFor(() => watcher.status.state === 'online', 5000, 'online');
    expect(changes[0]).toMatchObject({ state: 'online', reason: 'status', instanceId: 'cs-1', startedAt: instance.startedAt });

    // Abrupt death: the socket goes away without a DISCONNECT, so the broker publishes the will.
    server.mqttClient!.stream.destroy();
    await waitFor(() => watcher.status.state === 'offline', 5000, 'offline');
    expect(states()).toEqual(['online', 'offline']);

    // A watcher that arrives later sees the retained will.
    const late = await watch(cosigner);
    await waitFor(() => late.watcher.status.state === 'offline', 5000, 'the retained offline');
  });

  it('comes back online by itself after a reconnection, with a new will for the new connection', async () => {
    const tap = await startTap(broker.url);
    cleanups.push(() => tap.close());
    const cosigner = Identity.generate();
    const instance = { instanceId: 'cs-1', startedAt: Date.now() };
    const server = await connect({ will: presenceWill(cosigner, instance), reconnectPeriodMs: 300 });
    await startPresence(server, cosigner, instance);
    const { watcher, states } = await watch(cosigner);
    await waitFor(() => watcher.status.state === 'online', 5000, 'online');
    server.mqttClient!.stream.destroy();
    await waitFor(() => states().length === 3, 5000, 'offline then online');
    expect(states()).toEqual(['online', 'offline', 'online']);
    expect(watcher.status.connection).toBe(1);

    // The will of the first connection, replayed, is older than the second connection: ignored.
    const firstWill = tap.messages.find((message) => {
      const frame = verifyStatus(message.payload, cosigner.publicKey);
      return frame.state === 'offline' && frame.connection === 0;
    })!;
    await server.publish(COSIGNER_STATUS_TOPIC, firstWill.payload);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(states()).toEqual(['online', 'offline', 'online']);

    // The second connection has its own will.
    server.mqttClient!.end(true);
    await waitFor(() => states().length === 4, 5000, 'the second will');
    expect(watcher.status).toMatchObject({ state: 'offline', connection: 1 });
  });

  it('says offline on a clean stop, which does not fire the will', async () => {
    const cosigner = Identity.generate();
    const instance = { instanceId: 'cs-2', startedAt: Date.now() };
    const server = await connect({ will: presenceWill(cosigner, instance) });
    const presence = await startPresence(server, cosigner, instance);
    const { watcher, states } = await watch(cosigner);
    await waitFor(() => watcher.status.state === 'online', 5000, 'online');
    await presence.stop();
    await server.close();
    await waitFor(() => watcher.status.state === 'offline', 5000, 'offline');
    expect(states()).toEqual(['online', 'offline']);
  });

  it('ignores statuses not signed by the pinned key, and replays of older statuses', async () => {
    const tap = await startTap(broker.url);
    cleanups.push(() => tap.close());
    const cosigner = Identity.generate();
    const instance = { instanceId: 'cs-3', startedAt: Date.now() };
    const server = await connect({ will: presenceWill(cosigner, instance), reconnectPeriodMs: 60_000 });
    await startPresence(server, cosigner, instance);
    const { watcher, states, rejected } = await watch(cosigner);
    await waitFor(() => watcher.status.state === 'online', 5000, 'online');

    // Another party forges an 'offline' (the broker ACL would also stop it; the signature does regardless).
    const intruder = await connect();
    await intruder.publish(COSIGNER_STATUS_TOPIC, signStatus(Identity.generate(), { ...instance, state: 'offline', issuedAt: Date.now() }));
    await waitFor(() => rejected.length === 1, 5000, 'the forged status to be refused');
    expect(rejected[0]!.code).toBe('CHANNEL_BAD_SIGNATURE');
    expect(watcher.status.state).toBe('online');

    server.mqttClient!.stream.destroy();
    await waitFor(() => watcher.status.state === 'offline', 5000, 'offline');
    // Replaying the co-signer's own earlier 'online' does not bring it back.
    const online = tap.messages.find((message) => verifyStatus(message.payload, cosigner.publicKey).state === 'online')!;
    await intruder.publish(COSIGNER_STATUS_TOPIC, online.payload);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(states()).toEqual(['online', 'offline']);

    // A newer instance of the co-signer does.
    const restarted = { instanceId: 'cs-3', startedAt: instance.startedAt + 1 };
    const again = await connect({ will: presenceWill(cosigner, restarted) });
    await startPresence(again, cosigner, restarted);
    await waitFor(() => watcher.status.state === 'online', 5000, 'online again');
    expect(watcher.status.startedAt).toBe(restarted.startedAt);
  });

  it('works from heartbeats alone on a broker without retained messages', async () => {
    const cosigner = Identity.generate();
    const instance = { instanceId: 'cs-4', startedAt: Date.now() };
    // No will and no retained status: only heartbeats say the co-signer is there.
    const server = await connect({ reconnectPeriodMs: 60_000 });
    await startPresence(server, cosigner, instance, { heartbeatMs: 150, retain: false });
    const { watcher, changes, states } = await watch(cosigner, { missedBeats: 3 });
    expect(watcher.status.state).toBe('unknown');
    await waitFor(() => watcher.status.state === 'online', 5000, 'a heartbeat');
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(watcher.status.state).toBe('online');

    const died = Date.now();
    server.mqttClient!.end(true);
    await waitFor(() => watcher.status.state === 'offline', 5000, 'missed heartbeats');
    expect(Date.now() - died).toBeGreaterThanOrEqual(250);
    expect(changes.at(-1)).toMatchObject({ state: 'offline', reason: 'heartbeat-missed', instanceId: 'cs-4' });
    expect(states()).toEqual(['online', 'offline']);
  });

  it('does not count beats missed while the watcher itself is disconnected', async () => {
    const cosigner = Identity.generate();
    const instance = { instanceId: 'cs-5', startedAt: Date.now() };
    const server = await connect({ reconnectPeriodMs: 60_000 });
    await startPresence(server, cosigner, instance, { heartbeatMs: 150, retain: false });
    const { device, watcher, states } = await watch(cosigner, { missedBeats: 3 });
    await waitFor(() => watcher.status.state === 'online', 5000, 'a heartbeat');

    // The device's own connection is down for more than three beats; the co-signer beats on.
    await device.pause();
    await new Promise((resolve) => setTimeout(resolve, 900));
    expect(watcher.status.state).toBe('online');
    await device.resume();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(states()).toEqual(['online']);

    // Back online, missed beats count again.
    server.mqttClient!.end(true);
    await waitFor(() => watcher.status.state === 'offline', 5000, 'missed heartbeats');
    expect(watcher.status.reason).toBe('heartbeat-missed');
    expect(states()).toEqual(['online', 'offline']);
  });

  it('follows a pool of instances: online while any is, with each one listed, offline once the last one goes', async () => {
    const cosigner = Identity.generate();
    const first = { instanceId: 'pool-a', startedAt: Date.now() - 5_000 };
    const second = { instanceId: 'pool-b', startedAt: Date.now() };
    const a = await connect({ will: presenceWill(cosigner, first), reconnectPeriodMs: 60_000 });
    await startPresence(a, cosigner, first, { heartbeatMs: 200 });
    const b = await connect({ will: presenceWill(cosigner, second), reconnectPeriodMs: 60_000 });
    await startPresence(b, cosigner, second, { heartbeatMs: 200 });
    const { watcher, changes } = await watch(cosigner);
    // The older instance keeps beating, so it counts beside the newer one.
    await waitFor(() => watcher.status.onlineInstances?.length === 2, 5000, 'both instances');
    expect(watcher.status).toMatchObject({ state: 'online', instanceId: 'pool-b', onlineInstances: ['pool-b', 'pool-a'] });

    b.mqttClient!.stream.destroy();
    await waitFor(() => watcher.status.onlineInstances?.length === 1, 5000, 'the newer one gone');
    expect(watcher.status).toMatchObject({ state: 'online', instanceId: 'pool-a', onlineInstances: ['pool-a'] });

    a.mqttClient!.stream.destroy();
    await waitFor(() => watcher.status.state === 'offline', 5000, 'the last one gone');
    expect(watcher.status.onlineInstances).toEqual([]);
    expect(changes.some((change) => change.state === 'offline' && change.onlineInstances?.length)).toBe(false);
  });
});
