/**
 * The access-control properties of embedded.test.ts, against a real Mosquitto 2.0 with the
 * configuration shipped in deploy/mosquitto/. Mosquitto missing is a failure, not a skip:
 * CI installs it, and a skipped test would hide that it was not.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { COSIGNER_INBOX_FILTER, COSIGNER_MAIL_FILTER, COSIGNER_STATUS_TOPIC, approverClientId, deviceClientId, inboxTopic, mailInTopic, mailOutTopic } from '../../channel/topics.js';
import { COSIGNER_SHARED_INBOX_FILTER, COSIGNER_SHARED_MAIL_FILTER, PACKET_OVERHEAD_BYTES } from './access-rules.js';
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
import { connectExternalCosignerClient } from './external.js';
import { MosquittoDynsec, newApproverCredentials, newDeviceCredentials, type ApproverBrokerCredentials, type DeviceBrokerCredentials } from './mosquitto-dynsec.js';
import { startMosquittoHarness, type MosquittoHarness } from './mosquitto-harness.js';

const MAX_PAYLOAD = 4096;

let harness: MosquittoHarness;
let cosigner: Observer;
let dynsec: MosquittoDynsec;
const opened: Observer[] = [];

const walletA = randomHexId();
const walletB = randomHexId();
const deviceA = randomHexId();
const deviceB = randomHexId();
const approverA = randomHexId();
const approverB = randomHexId();
let credentialsA: DeviceBrokerCredentials;
let credentialsB: DeviceBrokerCredentials;
let approverCredentialsA: ApproverBrokerCredentials;
let approverCredentialsB: ApproverBrokerCredentials;

beforeAll(async () => {
  harness = await startMosquittoHarness({ maxPayloadBytes: MAX_PAYLOAD });
  const client = await connectExternalCosignerClient({ url: harness.mtlsUrl, caPem: harness.caPem, certPem: harness.cosigner.certPem, keyPem: harness.cosigner.keyPem });
  cosigner = new Observer(client);
  expect(await cosigner.subscribe(COSIGNER_INBOX_FILTER)).toBe(1);
  expect(await cosigner.subscribe(COSIGNER_MAIL_FILTER)).toBe(1);
  dynsec = await MosquittoDynsec.attach(client);
  credentialsA = await dynsec.provisionDevice({ deviceId: deviceA, walletId: walletA });
  credentialsB = await dynsec.provisionDevice({ deviceId: deviceB, walletId: walletB });
  approverCredentialsA = await dynsec.provisionApprover(approverA);
  approverCredentialsB = await dynsec.provisionApprover(approverB);
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((observer) => observer.end()));
});

afterAll(async () => {
  await dynsec?.detach();
  await cosigner?.end();
  await harness?.stop();
});

async function device(credentials: DeviceBrokerCredentials, overrides: Partial<DeviceBrokerCredentials> = {}): Promise<Observer> {
  const observer = await connectObserver(harness.wssUrl, {
    ca: harness.caPem,
    clientId: overrides.clientId ?? credentials.clientId,
    username: overrides.username ?? credentials.username,
    password: overrides.password ?? credentials.password,
  });
  opened.push(observer);
  return observer;
}

async function deviceAReady(): Promise<Observer> {
  const a = await device(credentialsA);
  await a.subscribe(inboxTopic(walletA, 'device'));
  return a;
}

function cosignerStillHears(from: Observer, walletId: string): Promise<void> {
  return expectCosignerStillHears(cosigner, from, walletId);
}

describe('Mosquitto: who may connect', () => {
  it('provisions device credentials bound to the device client id, a per-wallet role and its mailbox role', async () => {
    expect(credentialsA).toMatchObject({ username: deviceA, clientId: deviceClientId(deviceA) });
    expect(credentialsA.password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const record = await dynsec.getDevice(deviceA);
    expect({ ...record, roles: record?.roles.sort() }).toEqual({ clientId: deviceClientId(deviceA), roles: [`device-${deviceA}`, `wallet-${walletA}`], disabled: false });
    expect(await dynsec.getDevice(randomHexId())).toBeUndefined();
  });

  it('lets a provisioned device exchange messages over WSS with the co-signer on mutual TLS', async () => {
    const a = await deviceAReady();
    const up = marker('to-cosigner');
    expect(await a.publish(inboxTopic(walletA, 'cosigner'), up)).toBe('acknowledged');
    await cosigner.receivedPayload(up);
    const down = marker('to-device');
    await cosigner.publish(inboxTopic(walletA, 'device'), down);
    await a.receivedPayload(down);
  });

  it('refuses a wrong password, an unknown device and anonymous clients', async () => {
    await expect(device(credentialsA, { password: 'wrong-password' })).rejects.toMatchObject({ code: 5 });
    const stranger = randomHexId();
    await expect(device({ username: stranger, clientId: deviceClientId(stranger), password: credentialsA.password })).rejects.toMatchObject({ code: 5 });
    await expect(connectObserver(harness.wssUrl, { ca: harness.caPem, clientId: deviceClientId(deviceA) })).rejects.toMatchObject({ code: 5 });
  });

  it('refuses a plain TLS client without a certificate on the co-signer listener', async () => {
    await expect(
      connectObserver(harness.mtlsUrl, { ca: harness.caPem, clientId: 'intruder', username: deviceA, password: credentialsA.password }),
    ).rejects.toThrow();
  });

  it("refuses a client-id takeover and leaves the victim's live connection alone", async () => {
    const b = await device(credentialsB);
    await b.subscribe(inboxTopic(walletB, 'device'));
    await expect(device(credentialsA, { clientId: deviceClientId(deviceB) })).rejects.toMatchObject({ code: 5 });
    await expect(device(credentialsB, { password: credentialsA.password })).rejects.toMatchObject({ code: 5 });
    const stillThere = marker('still-there');
    await cosigner.publish(inboxTopic(walletB, 'device'), stillThere);
    await b.receivedPayload(stillThere);
    expect(b.closed).toBe(false);
  });
});

describe('Mosquitto: what a device may read and write', () => {
  it("refuses another wallet's inbox, `#` and `$SYS/#` to a device and delivers nothing through them", async () => {
    const a = await deviceAReady();
    const b = await device(credentialsB);
    await b.subscribe(inboxTopic(walletB, 'device'));
    for (const filter of [inboxTopic(walletA, 'device'), 'tandem/v1/w/+/to/device', '#', '$SYS/#', inboxTopic(walletA, 'cosigner')]) {
      // dynamic security answers 128 here; delivery is what is checked below
      expect(await b.subscribe(filter), filter).toBe(128);
    }
    await expectDeliveryOnlyToOwnInbox({ cosigner, a, b, walletA, walletB });
  });

  it("does not deliver a device's publish into another wallet's co-signer inbox or another device's inbox", async () => {
    const a = await deviceAReady();
    const b = await device(credentialsB);
    const forgedUp = marker('forged-up');
    const forgedDown = marker('forged-down');
    // MQTT 3.1.1 has no refusal for a PUBLISH: Mosquitto acknowledges it and drops it
    await b.publish(inboxTopic(walletA, 'cosigner'), forgedUp);
    await b.publish(inboxTopic(walletA, 'device'), forgedDown);
    if (!b.closed) await cosignerStillHears(b, walletB);
    await cosignerStillHears(a, walletA);
    const reply = marker('real-reply');
    await cosigner.publish(inboxTopic(walletA, 'device'), reply);
    await a.receivedPayload(reply);
    expect(cosigner.payloads()).not.toContain(forgedUp);
    expect(a.payloads()).not.toContain(forgedDown);
  });

  it('refuses retained publishes: the sender is disconnected and nothing is delivered or stored', async () => {
    const a = await deviceAReady();
    const retained = marker('retained');
    expect(await a.publish(inboxTopic(walletA, 'cosigner'), retained, { retain: true })).toBe('connection-closed');
    await cosignerStillHears(await device(credentialsA), walletA);
    // a later subscriber
    await cosigner.client.unsubscribeAsync(COSIGNER_INBOX_FILTER);
    await cosigner.subscribe(COSIGNER_INBOX_FILTER);
    await cosignerStillHears(await device(credentialsA), walletA);
    expect(cosigner.payloads()).not.toContain(retained);
  });

  it('drops a payload one byte over the limit and delivers one at the limit, on the WSS listener too', async () => {
    const a = await deviceAReady();
    const atLimit = marker('fits').padEnd(MAX_PAYLOAD, '.');
    expect(await a.publish(inboxTopic(walletA, 'cosigner'), atLimit)).toBe('acknowledged');
    await cosigner.receivedPayload(atLimit);
    // message_size_limit: acknowledged (MQTT 3.1.1 has no refusal) and dropped
    const over = marker('too-big').padEnd(MAX_PAYLOAD + 1, '.');
    const huge = marker('huge').padEnd(MAX_PAYLOAD * 50, '.');
    await a.publish(inboxTopic(walletA, 'cosigner'), over);
    await a.publish(inboxTopic(walletA, 'cosigner'), huge);
    await cosignerStillHears(a.closed ? await device(credentialsA) : a, walletA);
    expect(cosigner.payloads()).not.toContain(over);
    expect(cosigner.payloads()).not.toContain(huge);
  });

  it('disconnects a TCP client whose packet exceeds max_packet_size', async () => {
    const a = await connectObserver(`mqtt://127.0.0.1:${harness.loopbackPort}`, { clientId: credentialsA.clientId, username: credentialsA.username, password: credentialsA.password });
    opened.push(a);
    const over = marker('too-big').padEnd(MAX_PAYLOAD + PACKET_OVERHEAD_BYTES + 1, '.');
    expect(await a.publish(inboxTopic(walletA, 'cosigner'), over)).toBe('connection-closed');
    await cosignerStillHears(await device(credentialsA), walletA);
    expect(cosigner.payloads()).not.toContain(over);
  });

  it('carries the co-signer status to devices, without retain', async () => {
    const a = await device(credentialsA);
    await a.subscribe(COSIGNER_STATUS_TOPIC);
    const heartbeat = marker('online');
    await cosigner.publish(COSIGNER_STATUS_TOPIC, heartbeat);
    await a.receivedPayload(heartbeat);
    const forged = marker('forged-status');
    await a.publish(COSIGNER_STATUS_TOPIC, forged);
    const next = marker('online');
    await cosigner.publish(COSIGNER_STATUS_TOPIC, next);
    await (a.closed ? Promise.resolve() : a.receivedPayload(next));
    expect(a.payloads()).not.toContain(forged);
  });
});

describe('Mosquitto: credential lifecycle and observers', () => {
  it('renews a password: the live connection is closed, the new password logs in, the old one no longer does', async () => {
    const deviceId = randomHexId();
    const walletId = randomHexId();
    const first = await dynsec.provisionDevice({ deviceId, walletId });
    const live = await device(first);
    const prepared = newDeviceCredentials(deviceId);
    expect(await dynsec.renewDeviceCredentials(deviceId, prepared)).toEqual(prepared);
    expect(prepared.password).not.toBe(first.password);
    await live.disconnected();
    await expect(device(first)).rejects.toMatchObject({ code: 5 });
    const again = await device(prepared);
    await again.subscribe(inboxTopic(walletId, 'device'));
    const hello = marker('hello');
    await cosigner.publish(inboxTopic(walletId, 'device'), hello);
    await again.receivedPayload(hello);
  });

  it('revokes a device: its live connection is closed and it cannot log in again', async () => {
    const deviceId = randomHexId();
    const walletId = randomHexId();
    const credentials = await dynsec.provisionDevice({ deviceId, walletId });
    const live = await device(credentials);
    await dynsec.revokeDevice(deviceId);
    await live.disconnected();
    await expect(device(credentials)).rejects.toMatchObject({ code: 5 });
    expect(await dynsec.getDevice(deviceId)).toBeUndefined();
    await dynsec.removeWalletRole(walletId);
  });

  it('re-provisioning an existing device adds the new wallet and replaces the password', async () => {
    const deviceId = randomHexId();
    const first = await dynsec.provisionDevice({ deviceId, walletId: walletA });
    const second = await dynsec.provisionDevice({ deviceId, walletId: walletB });
    expect(second.password).not.toBe(first.password);
    expect((await dynsec.getDevice(deviceId))?.roles.sort()).toEqual([`device-${deviceId}`, `wallet-${walletA}`, `wallet-${walletB}`].sort());
    await dynsec.revokeDevice(deviceId);
  });

  it('gives the test tap full read access (for end-to-end encryption checks) and nothing else', async () => {
    const tap = await connectObserver(harness.mtlsUrl, { ca: harness.caPem, cert: harness.tap.certPem, key: harness.tap.keyPem, clientId: 'tap' });
    opened.push(tap);
    await tap.subscribe('tandem/#');
    const a = await deviceAReady();
    const seen = marker('seen-by-tap');
    await a.publish(inboxTopic(walletA, 'cosigner'), seen);
    await tap.receivedPayload(seen);
    const injected = marker('tap-injected');
    await tap.publish(inboxTopic(walletA, 'device'), injected);
    const sentinel = marker('sentinel');
    await cosigner.publish(inboxTopic(walletA, 'device'), sentinel);
    await a.receivedPayload(sentinel);
    expect(a.payloads()).not.toContain(injected);
  });

  it('lets a pool instance take the co-signer inbox through an MQTT 5 shared subscription', async () => {
    let pooled: MqttClient | undefined;
    try {
      pooled = await connectExternalCosignerClient({
        url: harness.mtlsUrl,
        caPem: harness.caPem,
        certPem: harness.cosigner.certPem,
        keyPem: harness.cosigner.keyPem,
        clientId: 'tandem-cosigner-pool-1',
        protocolVersion: 5,
      });
      const instance = new Observer(pooled);
      expect(await instance.subscribe(COSIGNER_SHARED_INBOX_FILTER)).toBe(1);
      const a = await device(credentialsA);
      const request = marker('for-the-pool');
      await a.publish(inboxTopic(walletA, 'cosigner'), request);
      await instance.receivedPayload(request);
    } finally {
      await pooled?.endAsync(true);
    }
  });
});

describe('Mosquitto: mailboxes', () => {
  it("lets a device read its own incoming mail and write its own outgoing mail, and nobody else's", async () => {
    const a = await device(credentialsA);
    expect(await a.subscribe(mailInTopic(deviceA))).toBe(1);
    const b = await device(credentialsB);
    expect(await b.subscribe(mailInTopic(deviceB))).toBe(1);
    for (const filter of foreignMailFilters(deviceB, deviceA)) expect(await b.subscribe(filter), filter).toBe(128);
    await expectMailOnlyToOwnBox({ cosigner, a, b, holderA: deviceA, holderB: deviceB });
    await expectForgedMailDropped({ cosigner, a, b, holderA: deviceA });
  });

  it('refuses the literal `%u` and `%c` topics (the plugin does not substitute them; no role may rely on it)', async () => {
    const a = await device(credentialsA);
    for (const filter of ['tandem/v1/mail/%u/in', 'tandem/v1/mail/%c/in']) expect(await a.subscribe(filter), filter).toBe(128);
  });

  it('gives a device provisioned before mailboxes its mailbox role at its next renewal', async () => {
    const deviceId = randomHexId();
    const walletId = randomHexId();
    const old = newDeviceCredentials(deviceId);
    await dynsec.ensureWalletRole(walletId);
    const [created] = await dynsec.execute([{ command: 'createClient', username: deviceId, password: old.password, clientid: old.clientId, roles: [{ rolename: `wallet-${walletId}` }] }]);
    expect(created!.error).toBeUndefined();
    const before = await device(old);
    expect(await before.subscribe(mailInTopic(deviceId))).toBe(128);
    const renewed = await dynsec.renewDeviceCredentials(deviceId);
    expect((await dynsec.getDevice(deviceId))?.roles.sort()).toEqual([`device-${deviceId}`, `wallet-${walletId}`].sort());
    const after = await device(renewed);
    expect(await after.subscribe(mailInTopic(deviceId))).toBe(1);
    const letter = marker('mail-after-renewal');
    await cosigner.publish(mailInTopic(deviceId), letter);
    await after.receivedPayload(letter);
    // a renewal of a device that has its role changes nothing else
    await dynsec.renewDeviceCredentials(deviceId);
    expect((await dynsec.getDevice(deviceId))?.roles).toHaveLength(2);
    await dynsec.revokeDevice(deviceId);
    await dynsec.removeWalletRole(walletId);
  });

  it('re-provisions a device into a wallet it already has without failing', async () => {
    const deviceId = randomHexId();
    await dynsec.provisionDevice({ deviceId, walletId: walletA });
    const again = await dynsec.provisionDevice({ deviceId, walletId: walletA });
    expect((await dynsec.getDevice(deviceId))?.roles.sort()).toEqual([`device-${deviceId}`, `wallet-${walletA}`].sort());
    const live = await device(again);
    expect(await live.subscribe(mailInTopic(deviceId))).toBe(1);
    await dynsec.revokeDevice(deviceId);
  });

  it('lets a pool instance take the outgoing mail through an MQTT 5 shared subscription', async () => {
    let pooled: MqttClient | undefined;
    try {
      pooled = await connectExternalCosignerClient({
        url: harness.mtlsUrl,
        caPem: harness.caPem,
        certPem: harness.cosigner.certPem,
        keyPem: harness.cosigner.keyPem,
        clientId: 'tandem-cosigner-pool-mail',
        protocolVersion: 5,
      });
      const instance = new Observer(pooled);
      expect(await instance.subscribe(COSIGNER_SHARED_MAIL_FILTER)).toBe(1);
      const a = await approver(approverCredentialsA);
      const letter = marker('mail-for-the-pool');
      await a.publish(mailOutTopic(approverA), letter);
      await instance.receivedPayload(letter);
    } finally {
      await pooled?.endAsync(true);
    }
  });
});

async function approver(credentials: ApproverBrokerCredentials, overrides: Partial<ApproverBrokerCredentials> = {}): Promise<Observer> {
  return device(credentials, overrides);
}

describe('Mosquitto: approvers', () => {
  it('provisions approver credentials bound to the approver client id and its own role', async () => {
    expect(approverCredentialsA).toMatchObject({ username: approverA, clientId: approverClientId(approverA) });
    expect(approverCredentialsA.password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await dynsec.getApprover(approverA)).toEqual({ clientId: approverClientId(approverA), roles: [`approver-${approverA}`], disabled: false });
    expect(await dynsec.getApprover(randomHexId())).toBeUndefined();
  });

  it('lets an approver exchange mail with the co-signer and read the status; nothing of another approver', async () => {
    const a = await approver(approverCredentialsA);
    expect(await a.subscribe(mailInTopic(approverA))).toBe(1);
    expect(await a.subscribe(COSIGNER_STATUS_TOPIC)).toBe(1);
    const b = await approver(approverCredentialsB);
    expect(await b.subscribe(mailInTopic(approverB))).toBe(1);
    for (const filter of [...foreignMailFilters(approverB, approverA), inboxTopic(walletA, 'device'), inboxTopic(walletA, 'cosigner'), COSIGNER_INBOX_FILTER, '$SYS/#']) {
      expect(await b.subscribe(filter), filter).toBe(128);
    }
    await expectMailOnlyToOwnBox({ cosigner, a, b, holderA: approverA, holderB: approverB });
    const heartbeat = marker('online');
    await cosigner.publish(COSIGNER_STATUS_TOPIC, heartbeat);
    await a.receivedPayload(heartbeat);
  });

  it("does not deliver an approver's forged mail, nor its publishes into a wallet's inboxes", async () => {
    const a = await approver(approverCredentialsA);
    await a.subscribe(mailInTopic(approverA));
    const b = await approver(approverCredentialsB);
    await expectForgedMailDropped({ cosigner, a, b, holderA: approverA });
    const dev = await device(credentialsA);
    await dev.subscribe(inboxTopic(walletA, 'device'));
    const intoCosigner = marker('approver-to-cosigner-inbox');
    const intoDevice = marker('approver-to-device-inbox');
    const b2 = b.closed ? await approver(approverCredentialsB) : b;
    await b2.publish(inboxTopic(walletA, 'cosigner'), intoCosigner);
    await b2.publish(inboxTopic(walletA, 'device'), intoDevice);
    await cosignerStillHears(dev, walletA);
    const sentinel = marker('sentinel');
    await cosigner.publish(inboxTopic(walletA, 'device'), sentinel);
    await dev.receivedPayload(sentinel);
    expect(cosigner.payloads()).not.toContain(intoCosigner);
    expect(dev.payloads()).not.toContain(intoDevice);
  });

  it("keeps devices and approvers out of each other's mail", async () => {
    const appr = await approver(approverCredentialsA);
    await appr.subscribe(mailInTopic(approverA));
    const dev = await device(credentialsA);
    await dev.subscribe(mailInTopic(deviceA));
    expect(await dev.subscribe(mailInTopic(approverA))).toBe(128);
    expect(await appr.subscribe(mailInTopic(deviceA))).toBe(128);
    await expectMailOnlyToOwnBox({ cosigner, a: appr, b: dev, holderA: approverA, holderB: deviceA });
    await expectForgedMailDropped({ cosigner, a: dev, b: appr, holderA: deviceA });
  });

  it('refuses an approver on a device client id or another client id, and a wrong password', async () => {
    await expect(approver(approverCredentialsA, { clientId: deviceClientId(approverA) })).rejects.toMatchObject({ code: 5 });
    await expect(approver(approverCredentialsA, { clientId: approverClientId(approverB) })).rejects.toMatchObject({ code: 5 });
    await expect(approver(approverCredentialsA, { password: approverCredentialsB.password })).rejects.toMatchObject({ code: 5 });
  });

  it('renews an approver password: the old one no longer logs in, the new one does', async () => {
    const approverId = randomHexId();
    const first = await dynsec.provisionApprover(approverId);
    const live = await approver(first);
    const prepared = newApproverCredentials(approverId);
    expect(await dynsec.renewApproverCredentials(approverId, prepared)).toEqual(prepared);
    await live.disconnected();
    await expect(approver(first)).rejects.toMatchObject({ code: 5 });
    const again = await approver(prepared);
    expect(await again.subscribe(mailInTopic(approverId))).toBe(1);
    await expect(dynsec.renewApproverCredentials(approverId, newDeviceCredentials(approverId))).rejects.toThrow(TypeError);
    // provisioning again replaces the password and keeps the one role
    const third = await dynsec.provisionApprover(approverId);
    expect((await dynsec.getApprover(approverId))?.roles).toEqual([`approver-${approverId}`]);
    await approver(third);
    await dynsec.revokeApprover(approverId);
  });

  it('revokes an approver: its live connection is closed, it cannot log in again, its role is gone', async () => {
    const approverId = randomHexId();
    const credentials = await dynsec.provisionApprover(approverId);
    const live = await approver(credentials);
    await dynsec.revokeApprover(approverId);
    await live.disconnected();
    await expect(approver(credentials)).rejects.toMatchObject({ code: 5 });
    expect(await dynsec.getApprover(approverId)).toBeUndefined();
    const [role] = await dynsec.execute([{ command: 'getRole', rolename: `approver-${approverId}` }]);
    expect(role!.error).toBe('Role not found');
    await dynsec.revokeApprover(approverId); // twice is fine
  });
});
