import { describe, expect, it } from 'vitest';
import { COSIGNER_INBOX_FILTER, COSIGNER_MAIL_FILTER, COSIGNER_STATUS_TOPIC, inboxTopic, mailInTopic, mailOutTopic } from '../../channel/topics.js';
import { COSIGNER_SHARED_MAIL_FILTER, emqxApproverAcl, emqxDeviceAcl, mayPublish, mayReceive, maySubscribe, type BrokerIdentity } from './access-rules.js';

const wallet = 'a'.repeat(32);
const other = 'b'.repeat(32);
const deviceId = 'c'.repeat(32);
const approverId = 'd'.repeat(32);
const otherHolder = 'e'.repeat(32);
const device: BrokerIdentity = { role: 'device', deviceId, walletId: wallet, expiresAt: 0 };
const approver: BrokerIdentity = { role: 'approver', approverId, expiresAt: 0 };
const cosigner: BrokerIdentity = { role: 'cosigner' };
const message = (topic: string, retain = false, payloadBytes = 10) => ({ topic, retain, payloadBytes });

describe('access rules', () => {
  it('lets a device subscribe to its own inbox, its own mail and the status, nothing else', () => {
    expect(maySubscribe(device, inboxTopic(wallet, 'device')).allowed).toBe(true);
    expect(maySubscribe(device, COSIGNER_STATUS_TOPIC).allowed).toBe(true);
    expect(maySubscribe(device, mailInTopic(deviceId)).allowed).toBe(true);
    for (const filter of [
      inboxTopic(other, 'device'),
      inboxTopic(wallet, 'cosigner'),
      '#',
      '+/#',
      '$SYS/#',
      'tandem/v1/w/+/to/device',
      `${inboxTopic(wallet, 'device')}/#`,
      mailOutTopic(deviceId),
      mailInTopic(otherHolder),
      mailInTopic(approverId),
      'tandem/v1/mail/+/in',
      'tandem/v1/mail/#',
      `${mailInTopic(deviceId)}/#`,
      COSIGNER_MAIL_FILTER,
    ]) {
      expect(maySubscribe(device, filter).allowed, filter).toBe(false);
    }
  });

  it("lets a device publish only non-retained, size-limited messages to its wallet's co-signer inbox and its own outgoing mail", () => {
    expect(mayPublish(device, message(inboxTopic(wallet, 'cosigner')), 100).allowed).toBe(true);
    expect(mayPublish(device, message(inboxTopic(wallet, 'cosigner'), true), 100).allowed).toBe(false);
    expect(mayPublish(device, message(inboxTopic(wallet, 'cosigner'), false, 101), 100).allowed).toBe(false);
    expect(mayPublish(device, message(inboxTopic(other, 'cosigner')), 100).allowed).toBe(false);
    expect(mayPublish(device, message(inboxTopic(wallet, 'device')), 100).allowed).toBe(false);
    expect(mayPublish(device, message(COSIGNER_STATUS_TOPIC), 100).allowed).toBe(false);
    expect(mayPublish(device, message(mailOutTopic(deviceId)), 100).allowed).toBe(true);
    expect(mayPublish(device, message(mailOutTopic(deviceId), true), 100).allowed).toBe(false);
    expect(mayPublish(device, message(mailOutTopic(deviceId), false, 101), 100).allowed).toBe(false);
    expect(mayPublish(device, message(mailInTopic(deviceId)), 100).allowed).toBe(false);
    expect(mayPublish(device, message(mailOutTopic(otherHolder)), 100).allowed).toBe(false);
    expect(mayPublish(device, message(mailInTopic(approverId)), 100).allowed).toBe(false);
  });

  it('lets an approver subscribe only to its own incoming mail and the status', () => {
    expect(maySubscribe(approver, mailInTopic(approverId)).allowed).toBe(true);
    expect(maySubscribe(approver, COSIGNER_STATUS_TOPIC).allowed).toBe(true);
    for (const filter of [
      mailOutTopic(approverId),
      mailInTopic(otherHolder),
      mailInTopic(deviceId),
      'tandem/v1/mail/+/in',
      COSIGNER_MAIL_FILTER,
      `${mailInTopic(approverId)}/#`,
      inboxTopic(wallet, 'device'),
      inboxTopic(wallet, 'cosigner'),
      COSIGNER_INBOX_FILTER,
      '#',
      '$SYS/#',
    ]) {
      expect(maySubscribe(approver, filter).allowed, filter).toBe(false);
    }
  });

  it('lets an approver publish only non-retained, size-limited messages to its own outgoing mail', () => {
    expect(mayPublish(approver, message(mailOutTopic(approverId)), 100).allowed).toBe(true);
    expect(mayPublish(approver, message(mailOutTopic(approverId), true), 100).allowed).toBe(false);
    expect(mayPublish(approver, message(mailOutTopic(approverId), false, 101), 100).allowed).toBe(false);
    for (const topic of [mailInTopic(approverId), mailOutTopic(otherHolder), mailInTopic(otherHolder), mailOutTopic(deviceId), inboxTopic(wallet, 'cosigner'), inboxTopic(wallet, 'device'), COSIGNER_STATUS_TOPIC]) {
      expect(mayPublish(approver, message(topic), 100).allowed, topic).toBe(false);
    }
  });

  it('delivers to an approver only its own incoming mail and the status', () => {
    expect(mayReceive(approver, mailInTopic(approverId))).toBe(true);
    expect(mayReceive(approver, COSIGNER_STATUS_TOPIC)).toBe(true);
    for (const topic of [mailOutTopic(approverId), mailInTopic(otherHolder), inboxTopic(wallet, 'device'), inboxTopic(wallet, 'cosigner')]) {
      expect(mayReceive(approver, topic), topic).toBe(false);
    }
    expect(mayReceive(device, mailInTopic(deviceId))).toBe(true);
    expect(mayReceive(device, mailInTopic(otherHolder))).toBe(false);
    expect(mayReceive(device, mailOutTopic(deviceId))).toBe(false);
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

  it("lets the co-signer read every holder's outgoing mail and write (non-retained) to every holder's incoming mail", () => {
    expect(maySubscribe(cosigner, COSIGNER_MAIL_FILTER).allowed).toBe(true);
    expect(maySubscribe(cosigner, mailOutTopic(approverId)).allowed).toBe(true);
    // Aedes has no shared subscriptions: the pool filter is for Mosquitto and EMQX only, as for the inbox
    expect(maySubscribe(cosigner, COSIGNER_SHARED_MAIL_FILTER).allowed).toBe(false);
    expect(maySubscribe(cosigner, mailInTopic(approverId)).allowed).toBe(false);
    expect(maySubscribe(cosigner, 'tandem/v1/mail/+/in').allowed).toBe(false);
    expect(maySubscribe(cosigner, 'tandem/v1/mail/#').allowed).toBe(false);
    expect(mayPublish(cosigner, message(mailInTopic(approverId)), 100).allowed).toBe(true);
    expect(mayPublish(cosigner, message(mailInTopic(deviceId)), 100).allowed).toBe(true);
    expect(mayPublish(cosigner, message(mailInTopic(deviceId), true), 100).allowed).toBe(false);
    expect(mayPublish(cosigner, message(mailInTopic(deviceId), false, 101), 100).allowed).toBe(false);
    expect(mayPublish(cosigner, message(mailOutTopic(deviceId)), 100).allowed).toBe(false);
    expect(mayPublish(cosigner, message('tandem/v1/mail/+/in'), 100).allowed).toBe(false);
    expect(mayReceive(cosigner, mailOutTopic(approverId))).toBe(true);
    expect(mayReceive(cosigner, mailInTopic(approverId))).toBe(false);
  });

  it('puts a deny-retain rule first and a deny-all rule last in the EMQX acl claim', () => {
    const acl = emqxDeviceAcl({ deviceId, walletId: wallet });
    expect(acl[0]).toEqual({ permission: 'deny', action: 'publish', topic: '#', retain: true });
    expect(acl.at(-1)).toEqual({ permission: 'deny', action: 'all', topic: '#' });
    expect(acl.filter((rule) => rule.permission === 'allow').map((rule) => `${rule.action} ${rule.topic}`)).toEqual([
      `publish eq ${inboxTopic(wallet, 'cosigner')}`,
      `publish ${inboxTopic(wallet, 'cosigner')}/+`,
      `publish eq ${mailOutTopic(deviceId)}`,
      `subscribe eq ${inboxTopic(wallet, 'device')}`,
      `subscribe eq ${mailInTopic(deviceId)}`,
      `subscribe eq ${COSIGNER_STATUS_TOPIC}`,
    ]);
  });

  it("gives an approver's EMQX claim its mailbox and the status, nothing of any wallet", () => {
    const acl = emqxApproverAcl(approverId);
    expect(acl[0]).toEqual({ permission: 'deny', action: 'publish', topic: '#', retain: true });
    expect(acl.at(-1)).toEqual({ permission: 'deny', action: 'all', topic: '#' });
    expect(acl.filter((rule) => rule.permission === 'allow').map((rule) => `${rule.action} ${rule.topic}`)).toEqual([
      `publish eq ${mailOutTopic(approverId)}`,
      `subscribe eq ${mailInTopic(approverId)}`,
      `subscribe eq ${COSIGNER_STATUS_TOPIC}`,
    ]);
    expect(() => emqxApproverAcl('#')).toThrow(TypeError);
  });
});
