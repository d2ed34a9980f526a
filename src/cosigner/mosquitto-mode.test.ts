/**
 * The co-signer on a real Mosquitto 2 (external-broker mode): mutual TLS for the co-signer,
 * device credentials provisioned through the dynamic-security plugin, devices over WSS.
 * Here the co-signer process state really goes away between stop() and start: Mosquitto keeps
 * its persistent session and the queued request.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recoverMessageAddress } from 'viem';
import { TandemDevice } from '../client/tandem-device.js';
import { DEFAULT_FRAGMENT_BYTES, FRAGMENT_MARKER } from '../channel/fragments.js';
import { startMosquittoHarness, type MosquittoHarness } from './broker/mosquitto-harness.js';
import { startCosigner, type CosignerConfig, type RunningCosigner } from './service.js';

let dir: string;
let harness: MosquittoHarness;
let config: CosignerConfig;
let cosigner: RunningCosigner | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tandem-mosquitto-mode-'));
  harness = await startMosquittoHarness();
  config = {
    dataDir: join(dir, 'cosigner'),
    port: 0,
    env: { TANDEM_MASTER_KEY: '24'.repeat(32) },
    log: () => undefined,
    heartbeatMs: 1_000,
    external: {
      url: harness.mtlsUrl,
      caPem: harness.caPem,
      certPem: harness.cosigner.certPem,
      keyPem: harness.cosigner.keyPem,
      deviceUrl: harness.wssUrl,
      deviceCaPem: harness.caPem,
    },
  };
  cosigner = await startCosigner(config);
});

afterAll(async () => {
  await cosigner?.stop();
  await harness?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('co-signer on Mosquitto', () => {
  it('enrolls through dynamic security, runs keygen and signs; a full-rights tap sees no plaintext, and nothing larger than a fragment goes to the device', async () => {
    const tapped: Buffer[] = [];
    const toDevice: Buffer[] = [];
    const tap = mqtt.connect(harness.mtlsUrl, {
      ca: harness.caPem,
      cert: harness.tap.certPem,
      key: harness.tap.keyPem,
      clientId: 'tap-1',
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    await new Promise<void>((resolve, reject) => {
      tap.once('connect', () => tap.subscribe('#', { qos: 1 }, (error) => (error ? reject(error) : resolve())));
      tap.once('error', reject);
    });
    tap.on('message', (topic, payload) => {
      if (topic.startsWith('tandem/')) tapped.push(Buffer.from(payload));
      if (topic.endsWith('/to/device')) toDevice.push(Buffer.from(payload));
    });

    const device = await TandemDevice.enroll({ cosignerUrl: cosigner!.url, caPem: cosigner!.certPem, file: join(dir, 'w1.json'), kind: '2of2' });
    const { address } = await device.createKey();
    const message = 'mosquitto-plaintext-marker';
    expect(await recoverMessageAddress({ message, signature: await device.signMessage(message) })).toBe(address);
    await device.close();
    await new Promise<void>((resolve) => tap.end(false, {}, () => resolve()));

    expect(tapped.length).toBeGreaterThan(5);
    const everything = Buffer.concat(tapped);
    for (const marker of [message, '"type"', 'keygen', address.slice(2).toLowerCase()]) expect(everything.includes(Buffer.from(marker))).toBe(false);
    // Mosquitto's WebSockets would hold a larger message back ~100 ms per 4 KB: the co-signer's
    // large frames (the presign round's is ~55 KB) reach the device in pieces.
    expect(toDevice.some((payload) => payload[0] === FRAGMENT_MARKER)).toBe(true);
    expect(Math.max(...toDevice.map((payload) => payload.length))).toBeLessThanOrEqual(DEFAULT_FRAGMENT_BYTES);
  });

  it('serves a request made while the co-signer process state was gone, once it starts again', async () => {
    const device = await TandemDevice.enroll({ cosignerUrl: cosigner!.url, caPem: cosigner!.certPem, file: join(dir, 'w2.json'), kind: '2of2' }, { requestTimeoutMs: 30_000 });
    const { address } = await device.createKey();
    await cosigner!.stop();
    cosigner = undefined;
    const pending = device.signMessage('while the co-signer was down');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    cosigner = await startCosigner(config);
    expect(await recoverMessageAddress({ message: 'while the co-signer was down', signature: await pending })).toBe(address);
    await device.close();
  });
});

describe('a broker restart', () => {
  it('does not end a request in flight: the co-signer process and its conversation live on', async () => {
    const device = await TandemDevice.enroll({ cosignerUrl: cosigner!.url, caPem: cosigner!.certPem, file: join(dir, 'w-broker-restart.json'), kind: '2of2' }, { requestTimeoutMs: 60_000 });
    const { address } = await device.createKey();
    // The device knows which instance serves it once it has heard the co-signer's heartbeat.
    const heard = Date.now();
    while (device.cosignerStatus.state !== 'online') {
      if (Date.now() - heard > 5_000) throw new Error('no heartbeat from the co-signer in 5 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // One request of many rounds on one conversation (presign has no second attempt, unlike sign):
    // Mosquitto publishes the co-signer's last will as it restarts, and the request must not take
    // that for the co-signer going away.
    // The batch stands still while the broker is down, so most of it is still to come when the will arrives.
    const batch = device.presign(60);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await harness.restart();
    await batch;
    const message = 'after the broker came back';
    expect(await recoverMessageAddress({ message, signature: await device.signMessage(message) })).toBe(address);
    await device.close();
  });
});

describe('presignatures across a co-signer restart', () => {
  it('are dropped at start (a restored store could hold used ones); the device presigns again and signs', async () => {
    const device = await TandemDevice.enroll({ cosignerUrl: cosigner!.url, caPem: cosigner!.certPem, file: join(dir, 'w3.json'), kind: '2of2' }, { requestTimeoutMs: 30_000 });
    const { address } = await device.createKey();
    await device.presign(2);
    const walletId = device.walletId;
    expect(await cosigner!.store.countReadyPresignatures(walletId)).toBe(2);
    await cosigner!.stop();
    cosigner = await startCosigner(config);
    expect(await cosigner.store.countReadyPresignatures(walletId)).toBe(0);
    const message = 'after the restart';
    expect(await recoverMessageAddress({ message, signature: await device.signMessage(message) })).toBe(address);
    await device.close();
  });
});
