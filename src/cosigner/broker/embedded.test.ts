import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { COSIGNER_INBOX_FILTER, COSIGNER_MAIL_FILTER, COSIGNER_STATUS_TOPIC, approverClientId, deviceClientId, inboxTopic, mailInTopic, mailOutTopic } from '../../channel/topics.js';
import { ensureServerCertificate, type ServerCertificate } from '../tls.js';
import { TokenIssuer } from '../tokens.js';
import { COSIGNER_CLIENT_ID } from './access-rules.js';
import {
  Observer,
  connectObserver,
  marker,
  randomHexId,
  expectCosignerStillHears,
  expectDeliveryOnlyToOwnInbox,
  expectForgedMailDropped,
  expectMailOnlyToOwnBox,
  foreignMailFilters,
} from './access-test-kit.js';
import { connectCosignerClient, startEmbeddedBroker, type AccessEvent, type EmbeddedBroker } from './embedded.js';

const MAX_PAYLOAD = 4096;
const COSIGNER_SECRET = 'test-only-cosigner-secret';

let dir: string;
let tls: ServerCertificate;
let tokens: TokenIssuer;
/** Same signing key as `tokens`, clock an hour behind: its tokens are expired but genuinely signed. */
let tokensFromAnHourAgo: TokenIssuer;
let embedded: EmbeddedBroker;
let cosigner: Observer;
const events: AccessEvent[] = [];
const opened: Observer[] = [];

const walletA = randomHexId();
const walletB = randomHexId();
const deviceA = randomHexId();
const deviceB = randomHexId();
const approverA = randomHexId();
const approverB = randomHexId();
/** Approvers the operator removed: approverAllowed refuses them. */
const removedApprovers = new Set<string>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tandem-embedded-'));
  tls = await ensureServerCertificate(dir, ['127.0.0.1', 'localhost']);
  tokens = await TokenIssuer.open(join(dir, 'keys'));
  tokensFromAnHourAgo = await TokenIssuer.open(join(dir, 'keys'), { now: () => Date.now() - 3_600_000 });
  embedded = await startEmbeddedBroker({
    port: 0,
    tls,
    tokens,
    maxPayloadBytes: MAX_PAYLOAD,
    cosignerSecret: COSIGNER_SECRET,
    onAccessEvent: (event) => events.push(event),
    approverAllowed: (approverId) => !removedApprovers.has(approverId),
  });
  cosigner = new Observer(await connectCosignerClient(embedded));
  await cosigner.subscribe(COSIGNER_INBOX_FILTER);
  expect(await cosigner.subscribe(COSIGNER_MAIL_FILTER)).toBe(1);
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((observer) => observer.end()));
});

afterAll(async () => {
  await cosigner?.end();
  await embedded?.close();
  await rm(dir, { recursive: true, force: true });
});

async function device(deviceId: string, walletId: string, overrides: { clientId?: string; password?: string; username?: string } = {}): Promise<Observer> {
  const password = overrides.password ?? (await tokens.issue({ deviceId, walletId })).token;
  const observer = await connectObserver(embedded.url, {
    ca: tls.certPem,
    clientId: overrides.clientId ?? deviceClientId(deviceId),
    username: overrides.username ?? deviceId,
    password,
  });
  opened.push(observer);
  return observer;
}

async function approver(approverId: string, overrides: { clientId?: string; password?: string; username?: string } = {}): Promise<Observer> {
  const password = overrides.password ?? (await tokens.issueApprover({ approverId })).token;
  const observer = await connectObserver(embedded.url, {
    ca: tls.certPem,
    clientId: overrides.clientId ?? approverClientId(approverId),
    username: overrides.username ?? approverId,
    password,
  });
  opened.push(observer);
  return observer;
}

/** Device A, subscribed to its inbox, and a sentinel that proves the co-signer's inbox is still flowing. */
async function deviceAReady(): Promise<Observer> {
  const a = await device(deviceA, walletA);
  expect(await a.subscribe(inboxTopic(walletA, 'device'))).toBe(1);
  return a;
}

function cosignerStillHears(from: Observer, walletId: string): Promise<void> {
  return expectCosignerStillHears(cosigner, from, walletId);
}

describe('embedded broker: who may connect', () => {
  it('serves wss:// on a free port with the generated certificate', () => {
    expect(embedded.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/mqtt$/);
    expect(embedded.port).toBeGreaterThan(0);
  });

  it('lets a device with a valid token connect and exchange messages with the co-signer both ways', async () => {
    const a = await deviceAReady();
    const up = marker('to-cosigner');
    expect(await a.publish(inboxTopic(walletA, 'cosigner'), up)).toBe('acknowledged');
    await cosigner.receivedPayload(up);
    expect(cosigner.received.find((m) => m.payload === up)?.topic).toBe(inboxTopic(walletA, 'cosigner'));
    const down = marker('to-device');
    await cosigner.publish(inboxTopic(walletA, 'device'), down);
    await a.receivedPayload(down);
  });

  it('refuses anonymous clients and a username without a token', async () => {
    await expect(connectObserver(embedded.url, { ca: tls.certPem, clientId: deviceClientId(deviceA) })).rejects.toMatchObject({ code: 5 });
    await expect(connectObserver(embedded.url, { ca: tls.certPem, clientId: deviceClientId(deviceA), username: deviceA })).rejects.toMatchObject({ code: 5 });
  });

  it('refuses a malformed, an expired and a foreign-signed token', async () => {
    await expect(device(deviceA, walletA, { password: 'not-a-token' })).rejects.toMatchObject({ code: 4 });

    const expired = await tokensFromAnHourAgo.issue({ deviceId: deviceA, walletId: walletA, ttlSeconds: 60 });
    await expect(tokens.verify(expired.token)).rejects.toMatchObject({ reason: 'expired' });
    await expect(device(deviceA, walletA, { password: expired.token })).rejects.toMatchObject({ code: 4 });
    expect(events.some((event) => event.kind === 'connect-refused' && /expired/.test(event.reason))).toBe(true);

    const foreign = await (await TokenIssuer.ephemeral()).issue({ deviceId: deviceA, walletId: walletA });
    await expect(device(deviceA, walletA, { password: foreign.token })).rejects.toMatchObject({ code: 4 });
  });

  it("refuses a token used under another device's username", async () => {
    const tokenOfA = (await tokens.issue({ deviceId: deviceA, walletId: walletA })).token;
    await expect(device(deviceB, walletB, { password: tokenOfA })).rejects.toMatchObject({ code: 4 });
  });

  it("refuses a client-id takeover and leaves the victim's live connection alone", async () => {
    const b = await device(deviceB, walletB);
    await b.subscribe(inboxTopic(walletB, 'device'));
    const a = await deviceAReady();
    // A's own valid token, presented with B's client id
    await expect(device(deviceA, walletA, { clientId: deviceClientId(deviceB) })).rejects.toMatchObject({ code: 2 });
    // A's token under B's username and client id
    const tokenOfA = (await tokens.issue({ deviceId: deviceA, walletId: walletA })).token;
    await expect(device(deviceB, walletB, { password: tokenOfA })).rejects.toMatchObject({ code: 4 });

    const stillThere = marker('still-there');
    await cosigner.publish(inboxTopic(walletB, 'device'), stillThere);
    await b.receivedPayload(stillThere);
    expect(b.closed).toBe(false);
    expect(a.closed).toBe(false);
    expect(b.client.connected).toBe(true);
  });

  it('refuses the co-signer login over the network, even with the right secret', async () => {
    await expect(
      connectObserver(embedded.url, { ca: tls.certPem, clientId: COSIGNER_CLIENT_ID, username: COSIGNER_CLIENT_ID, password: COSIGNER_SECRET }),
    ).rejects.toMatchObject({ code: 4 });
  });

  it('disconnects a device when its token expires', async () => {
    const short = await tokens.issue({ deviceId: deviceA, walletId: walletA, ttlSeconds: 1 });
    const a = await device(deviceA, walletA, { password: short.token });
    await a.disconnected(4000);
    expect(events.some((event) => event.kind === 'token-expired' && event.deviceId === deviceA)).toBe(true);
  });
});

describe('embedded broker: what a device may read and write', () => {
  it("delivers nothing from another wallet's inbox to a device that subscribes to it", async () => {
    const a = await deviceAReady();
    const b = await device(deviceB, walletB);
    await b.subscribe(inboxTopic(walletB, 'device'));
    // Aedes answers a refused subscription with 128; delivery is checked below regardless
    expect(await b.subscribe(inboxTopic(walletA, 'device'))).toBe(128);
    expect(await b.subscribe('tandem/v1/w/+/to/device')).toBe(128);

    const secret = marker('for-a-only');
    await cosigner.publish(inboxTopic(walletA, 'device'), secret);
    await a.receivedPayload(secret);
    const sentinel = marker('for-b');
    await cosigner.publish(inboxTopic(walletB, 'device'), sentinel);
    await b.receivedPayload(sentinel);
    expect(b.payloads()).not.toContain(secret);
  });

  it('refuses `#` and `$SYS/#` subscriptions from devices and delivers nothing through them', async () => {
    const a = await deviceAReady();
    const b = await device(deviceB, walletB);
    await b.subscribe(inboxTopic(walletB, 'device'));
    expect(await b.subscribe('#')).toBe(128);
    expect(await b.subscribe('$SYS/#')).toBe(128);

    await expectDeliveryOnlyToOwnInbox({ cosigner, a, b, walletA, walletB });
  });

  it("does not deliver a device's publish into another wallet's co-signer inbox", async () => {
    const a = await deviceAReady();
    const b = await device(deviceB, walletB);
    const forged = marker('forged-by-b');
    expect(await b.publish(inboxTopic(walletA, 'cosigner'), forged)).toBe('connection-closed');
    await cosignerStillHears(a, walletA);
    expect(cosigner.payloads()).not.toContain(forged);
    expect(events.some((event) => event.kind === 'publish-refused' && event.deviceId === deviceB)).toBe(true);
  }, 15_000);

  it("does not let a device impersonate the co-signer in another device's inbox", async () => {
    const a = await deviceAReady();
    const b = await device(deviceB, walletB);
    const forged = marker('forged-reply');
    expect(await b.publish(inboxTopic(walletA, 'device'), forged)).toBe('connection-closed');
    const sentinel = marker('real-reply');
    await cosigner.publish(inboxTopic(walletA, 'device'), sentinel);
    await a.receivedPayload(sentinel);
    expect(a.payloads()).not.toContain(forged);
  });

  it('refuses retained publishes from devices: neither delivered nor stored for later subscribers', async () => {
    const a = await deviceAReady();
    const retained = marker('retained');
    expect(await a.publish(inboxTopic(walletA, 'cosigner'), retained, { retain: true })).toBe('connection-closed');

    // a later subscriber: the co-signer subscribes afresh, which would replay any stored retained message
    await cosigner.client.unsubscribeAsync(COSIGNER_INBOX_FILTER);
    await cosigner.subscribe(COSIGNER_INBOX_FILTER);
    const again = await device(deviceA, walletA);
    await cosignerStillHears(again, walletA);
    expect(cosigner.payloads()).not.toContain(retained);
  });

  it('keeps retained co-signer status for devices that subscribe later (the positive control)', async () => {
    const online = marker('online');
    await cosigner.publish(COSIGNER_STATUS_TOPIC, online, { retain: true });
    const a = await device(deviceA, walletA);
    await a.subscribe(COSIGNER_STATUS_TOPIC);
    await a.receivedPayload(online);
    expect(a.received.find((m) => m.payload === online)?.retain).toBe(true);
  });

  it('refuses a payload one byte over the limit and delivers one at the limit', async () => {
    const a = await deviceAReady();
    const atLimit = marker('fits').padEnd(MAX_PAYLOAD, '.');
    expect(await a.publish(inboxTopic(walletA, 'cosigner'), atLimit)).toBe('acknowledged');
    await cosigner.receivedPayload(atLimit);

    const over = marker('too-big').padEnd(MAX_PAYLOAD + 1, '.');
    expect(await a.publish(inboxTopic(walletA, 'cosigner'), over)).toBe('connection-closed');
    await cosignerStillHears(await device(deviceA, walletA), walletA);
    expect(cosigner.payloads()).not.toContain(over);
  });

  it('cuts off a packet far over the limit from its header, before buffering it', async () => {
    const a = await deviceAReady();
    const huge = marker('huge').padEnd(MAX_PAYLOAD * 50, '.');
    expect(await a.publish(inboxTopic(walletA, 'cosigner'), huge)).toBe('connection-closed');
    expect(events.some((event) => event.kind === 'oversized-packet')).toBe(true);
    await cosignerStillHears(await device(deviceA, walletA), walletA);
    expect(cosigner.payloads()).not.toContain(huge);
  });
});

describe('embedded broker: the co-signer session', () => {
  it('queues QoS 1 messages for the co-signer while its client is away (clean: false)', async () => {
    const own = await startEmbeddedBroker({ port: 0, tls, tokens, maxPayloadBytes: MAX_PAYLOAD });
    let client: MqttClient | undefined;
    try {
      client = await connectCosignerClient(own, { reconnectPeriod: 0 });
      await client.subscribeAsync(COSIGNER_INBOX_FILTER, { qos: 1 });
      await client.endAsync();
      const a = await connectObserver(own.url, {
        ca: tls.certPem,
        clientId: deviceClientId(deviceA),
        username: deviceA,
        password: (await tokens.issue({ deviceId: deviceA, walletId: walletA })).token,
      });
      opened.push(a);
      const whileAway = marker('while-away');
      expect(await a.publish(inboxTopic(walletA, 'cosigner'), whileAway)).toBe('acknowledged');
      const back = new Observer(await connectCosignerClient(own, { reconnectPeriod: 0 }));
      client = back.client;
      await back.receivedPayload(whileAway);
    } finally {
      await client?.endAsync(true);
      await own.close();
    }
  });
});


describe('embedded broker: approvers', () => {
  it('lets an approver with a valid token connect and exchange mail with the co-signer both ways', async () => {
    const a = await approver(approverA);
    expect(await a.subscribe(mailInTopic(approverA))).toBe(1);
    expect(await a.subscribe(COSIGNER_STATUS_TOPIC)).toBe(1);
    const b = await approver(approverB);
    expect(await b.subscribe(mailInTopic(approverB))).toBe(1);
    await expectMailOnlyToOwnBox({ cosigner, a, b, holderA: approverA, holderB: approverB });
  });

  it("refuses an approver anything but its own mail and the status, and delivers nothing of another's", async () => {
    const a = await approver(approverA);
    await a.subscribe(mailInTopic(approverA));
    const b = await approver(approverB);
    await b.subscribe(mailInTopic(approverB));
    for (const filter of [...foreignMailFilters(approverB, approverA), inboxTopic(walletA, 'device'), inboxTopic(walletA, 'cosigner'), COSIGNER_INBOX_FILTER, '$SYS/#']) {
      expect(await b.subscribe(filter), filter).toBe(128);
    }
    expect(events.some((event) => event.kind === 'subscribe-refused' && event.approverId === approverB)).toBe(true);
    await expectMailOnlyToOwnBox({ cosigner, a, b, holderA: approverA, holderB: approverB });
  });

  it("does not deliver an approver's forged mail, and disconnects it", async () => {
    const a = await approver(approverA);
    await a.subscribe(mailInTopic(approverA));
    const b = await approver(approverB);
    await expectForgedMailDropped({ cosigner, a, b, holderA: approverA });
    expect(b.closed).toBe(true);
    expect(events.some((event) => event.kind === 'publish-refused' && event.approverId === approverB)).toBe(true);
  });

  it("keeps approvers out of wallets: no publish into a co-signer or device inbox, nor the status", async () => {
    const a = await deviceAReady();
    for (const topic of [inboxTopic(walletA, 'cosigner'), inboxTopic(walletA, 'device'), COSIGNER_STATUS_TOPIC]) {
      const b = await approver(approverB);
      const forged = marker('approver-into-wallet');
      expect(await b.publish(topic, forged), topic).toBe('connection-closed');
      await cosignerStillHears(a, walletA);
      const sentinel = marker('sentinel');
      await cosigner.publish(inboxTopic(walletA, 'device'), sentinel);
      await a.receivedPayload(sentinel);
      expect(cosigner.payloads()).not.toContain(forged);
      expect(a.payloads()).not.toContain(forged);
    }
  });

  it('refuses retained mail from an approver', async () => {
    const a = await approver(approverA);
    const retained = marker('retained-mail');
    expect(await a.publish(mailOutTopic(approverA), retained, { retain: true })).toBe('connection-closed');
    const again = await approver(approverA);
    const sentinel = marker('sentinel');
    expect(await again.publish(mailOutTopic(approverA), sentinel)).toBe('acknowledged');
    await cosigner.receivedPayload(sentinel);
    expect(cosigner.payloads()).not.toContain(retained);
  });

  it('binds approver tokens to the approver client id, and device tokens to the device one', async () => {
    // an approver token on the device client id of the same id, and the reverse
    await expect(approver(approverA, { clientId: deviceClientId(approverA) })).rejects.toMatchObject({ code: 2 });
    await expect(device(approverA, walletA, { clientId: approverClientId(approverA) })).rejects.toMatchObject({ code: 2 });
    // another approver's client id, and another approver's token under this username
    await expect(approver(approverA, { clientId: approverClientId(approverB) })).rejects.toMatchObject({ code: 2 });
    const tokenOfB = (await tokens.issueApprover({ approverId: approverB })).token;
    await expect(approver(approverA, { password: tokenOfB })).rejects.toMatchObject({ code: 4 });
    // a device's token, presented as an approver of the device's id
    const tokenOfDevice = (await tokens.issue({ deviceId: deviceA, walletId: walletA })).token;
    await expect(approver(deviceA, { password: tokenOfDevice })).rejects.toMatchObject({ code: 2 });
  });

  it("refuses a client-id takeover of an approver and leaves the approver's live connection alone", async () => {
    const a = await approver(approverA);
    await a.subscribe(mailInTopic(approverA));
    await expect(approver(approverB, { clientId: approverClientId(approverA) })).rejects.toMatchObject({ code: 2 });
    const stillThere = marker('still-there');
    await cosigner.publish(mailInTopic(approverA), stillThere);
    await a.receivedPayload(stillThere);
    expect(a.closed).toBe(false);
  });

  it('refuses expired and foreign approver tokens', async () => {
    const expired = await tokensFromAnHourAgo.issueApprover({ approverId: approverA, ttlSeconds: 60 });
    await expect(approver(approverA, { password: expired.token })).rejects.toMatchObject({ code: 4 });
    const foreign = await (await TokenIssuer.ephemeral()).issueApprover({ approverId: approverA });
    await expect(approver(approverA, { password: foreign.token })).rejects.toMatchObject({ code: 4 });
  });

  it('refuses a removed approver with an unexpired token, and disconnectApprover closes its live connection', async () => {
    const approverId = randomHexId();
    const live = await approver(approverId);
    await live.subscribe(mailInTopic(approverId));
    removedApprovers.add(approverId);
    embedded.disconnectApprover(approverId);
    await live.disconnected();
    await expect(approver(approverId)).rejects.toMatchObject({ code: 5 });
    expect(events.some((event) => event.kind === 'connect-refused' && event.approverId === approverId && /removed/.test(event.reason))).toBe(true);
  });

  it('disconnects an approver when its token expires', async () => {
    const short = await tokens.issueApprover({ approverId: approverA, ttlSeconds: 1 });
    const a = await approver(approverA, { password: short.token });
    await a.disconnected(4000);
    expect(events.some((event) => event.kind === 'token-expired' && event.approverId === approverA)).toBe(true);
  });
});

describe("embedded broker: a device's mailbox", () => {
  it('lets a device read its own incoming mail and write its own outgoing mail, and nobody else', async () => {
    const a = await device(deviceA, walletA);
    expect(await a.subscribe(mailInTopic(deviceA))).toBe(1);
    const b = await device(deviceB, walletB);
    expect(await b.subscribe(mailInTopic(deviceB))).toBe(1);
    for (const filter of foreignMailFilters(deviceB, deviceA)) expect(await b.subscribe(filter), filter).toBe(128);
    await expectMailOnlyToOwnBox({ cosigner, a, b, holderA: deviceA, holderB: deviceB });
  });

  it("keeps a device out of an approver's mail and an approver out of a device's", async () => {
    const dev = await device(deviceA, walletA);
    await dev.subscribe(mailInTopic(deviceA));
    const appr = await approver(approverA);
    await appr.subscribe(mailInTopic(approverA));
    expect(await dev.subscribe(mailInTopic(approverA))).toBe(128);
    expect(await appr.subscribe(mailInTopic(deviceA))).toBe(128);
    await expectMailOnlyToOwnBox({ cosigner, a: appr, b: dev, holderA: approverA, holderB: deviceA });
    await expectForgedMailDropped({ cosigner, a: dev, b: await approver(approverB), holderA: deviceA });
  });
});
