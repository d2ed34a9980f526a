import { describe, expect, it } from 'vitest';
import { COSIGNER_INBOX_FILTER, COSIGNER_STATUS_TOPIC, inboxTopic } from '../../channel/topics.js';
import { emqxDeviceAcl, mayPublish, mayReceive, maySubscribe, type BrokerIdentity } from './access-rules.js';

const wallet = 'a'.repeat(32);
const other = 'b'.repeat(32);
const device: BrokerIdentity = { role: 'device', deviceId: 'c'.repeat(32), walletId: wallet, expiresAt: 0 };
const cosigner: BrokerIdentity = { role: 'cosigner' };
const message = (topic: string, retain = false, payloadBytes = 10) => ({ topic, retain, payloadBytes });

describe('access rules', () => {
  it('lets a device subscribe to its own inbox and the status, nothing else', () => {
    expect(maySubscribe(device, inboxTopic(wallet, 'device')).allowed).toBe(true);
    expect(maySubscribe(device, COSIGNER_STATUS_TOPIC).allowed).toBe(true);
    for (const filter of [inboxTopic(other, 'device'), inboxTopic(wallet, 'cosigner'), '#', '+/#', '$SYS/#', 'tandem/v1/w/+/to/device', `${inboxTopic(wallet, 'device')}/#`]) {
      expect(maySubscribe(device, filter).allowed, filter).toBe(false);
    }
  });

  it("lets a device publish only non-retained, size-limited messages to its wallet's co-signer inbox", () => {
    expect(mayPublish(device, message(inboxTopic(wallet, 'cosigner')), 100).allowed).toBe(true);
    expect(mayPublish(device, message(inboxTopic(wallet, 'cosigner'), true), 100).allowed).toBe(false);
    expect(mayPublish(device, message(inboxTopic(wallet, 'cosigner'), false, 101), 100).allowed).toBe(false);
    expect(mayPublish(device, message(inboxTopic(other, 'cosigner')), 100).allowed).toBe(false);
    expect(mayPublish(device, message(inboxTopic(wallet, 'device')), 100).allowed).toBe(false);
    expect(mayPublish(device, message(COSIGNER_STATUS_TOPIC), 100).allowed).toBe(false);
  });

  it('lets the co-signer read its inboxes and write device inboxes and its (retained) status', () => {
    expect(maySubscribe(cosigner, COSIGNER_INBOX_FILTER).allowed).toBe(true);
    expect(maySubscribe(cosigner, '#').allowed).toBe(false);
    expect(mayPublish(cosigner, message(inboxTopic(other, 'device')), 100).allowed).toBe(true);
    expect(mayPublish(cosigner, message(inboxTopic(other, 'device'), true), 100).allowed).toBe(false);
    expect(mayPublish(cosigner, message(COSIGNER_STATUS_TOPIC, true), 100).allowed).toBe(true);
    expect(mayPublish(cosigner, message(inboxTopic(other, 'cosigner')), 100).allowed).toBe(false);
    expect(mayReceive(cosigner, inboxTopic(other, 'cosigner'))).toBe(true);
    expect(mayReceive(device, inboxTopic(other, 'device'))).toBe(false);
  });

  it('puts a deny-retain rule first and a deny-all rule last in the EMQX acl claim', () => {
    const acl = emqxDeviceAcl(wallet);
    expect(acl[0]).toEqual({ permission: 'deny', action: 'publish', topic: '#', retain: true });
    expect(acl.at(-1)).toEqual({ permission: 'deny', action: 'all', topic: '#' });
    expect(acl.filter((rule) => rule.permission === 'allow').map((rule) => rule.topic)).toEqual([
      `eq ${inboxTopic(wallet, 'cosigner')}`,
      `eq ${inboxTopic(wallet, 'device')}`,
      `eq ${COSIGNER_STATUS_TOPIC}`,
    ]);
  });
});
