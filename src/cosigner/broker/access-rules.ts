/**
 * Who may do what on the broker, in one place: the embedded Aedes hooks decide with these
 * functions, and the Mosquitto dynamic-security roles and EMQX token ACLs are generated from
 * the same topic helpers, so the three brokers enforce one policy.
 *
 * Roles:
 * - a device: one wallet, one inbox to read and one to write, plus its own mailbox (mail `in` to
 *   read, mail `out` to write);
 * - an approver: an identity of its own, never a wallet party: its mailbox and the co-signer status,
 *   nothing of any wallet;
 * - the co-signer: every co-signer inbox and every mail `out` box to read, every device inbox and
 *   every mail `in` box to write, and its status.
 * Nobody else.
 */
import {
  COSIGNER_INBOX_FILTER,
  COSIGNER_MAIL_FILTER,
  COSIGNER_STATUS_TOPIC,
  inboxTopic,
  mailInTopic,
  mailOutTopic,
  parseInboxTopic,
  parseMailTopic,
} from '../../channel/topics.js';

/** The MQTT client id and username of the co-signer's own connection to a broker it runs or provisions. */
export const COSIGNER_CLIENT_ID = 'tandem-cosigner';

/**
 * Co-signer instances of a pool share the co-signer inboxes through this MQTT 5 shared
 * subscription (Mosquitto, EMQX; Aedes has no shared subscriptions and runs one instance).
 */
export const COSIGNER_SHARE_GROUP = 'tandem-cosigners';
export const COSIGNER_SHARED_INBOX_FILTER = `$share/${COSIGNER_SHARE_GROUP}/${COSIGNER_INBOX_FILTER}`;
/** The same for the holders' outgoing mail: one instance of a pool takes each letter. */
export const COSIGNER_SHARED_MAIL_FILTER = `$share/${COSIGNER_SHARE_GROUP}/${COSIGNER_MAIL_FILTER}`;

/** Payloads above this are refused: the largest DKLs23 message (presigning) is about 40 KB before encryption. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024;

/** Room for the fixed header, topic, packet id and MQTT 5 properties on top of the payload limit. */
export const PACKET_OVERHEAD_BYTES = 512;

export type BrokerIdentity =
  | { role: 'device'; deviceId: string; walletId: string; expiresAt: number }
  | { role: 'approver'; approverId: string; expiresAt: number }
  | { role: 'cosigner' };

export type AccessDecision = { allowed: true } | { allowed: false; reason: string };

const ALLOW: AccessDecision = { allowed: true };
const deny = (reason: string): AccessDecision => ({ allowed: false, reason });

export function maySubscribe(identity: BrokerIdentity, filter: string): AccessDecision {
  if (identity.role === 'device') {
    if (filter === inboxTopic(identity.walletId, 'device') || filter === mailInTopic(identity.deviceId) || filter === COSIGNER_STATUS_TOPIC) return ALLOW;
    return deny(`a device may subscribe only to its own inbox, its own mail and the co-signer status, not ${JSON.stringify(filter)}`);
  }
  if (identity.role === 'approver') {
    if (filter === mailInTopic(identity.approverId) || filter === COSIGNER_STATUS_TOPIC) return ALLOW;
    return deny(`an approver may subscribe only to its own mail and the co-signer status, not ${JSON.stringify(filter)}`);
  }
  if (filter === COSIGNER_INBOX_FILTER || filter === COSIGNER_MAIL_FILTER || filter === COSIGNER_STATUS_TOPIC) return ALLOW;
  if (parseInboxTopic(filter)?.role === 'cosigner') return ALLOW;
  if (parseMailTopic(filter)?.direction === 'out') return ALLOW;
  return deny(`the co-signer subscribes only to co-signer inboxes, outgoing mail and its status, not ${JSON.stringify(filter)}`);
}

export function mayPublish(
  identity: BrokerIdentity,
  message: { topic: string; retain: boolean; payloadBytes: number },
  maxPayloadBytes: number,
): AccessDecision {
  if (message.payloadBytes > maxPayloadBytes) {
    return deny(`payload of ${message.payloadBytes} bytes exceeds the limit of ${maxPayloadBytes}`);
  }
  if (identity.role === 'device') {
    if (message.retain) return deny('devices may not publish retained messages');
    if (message.topic === inboxTopic(identity.walletId, 'cosigner') || message.topic === mailOutTopic(identity.deviceId)) return ALLOW;
    return deny(`a device may publish only to its wallet's co-signer inbox and its own outgoing mail, not ${JSON.stringify(message.topic)}`);
  }
  if (identity.role === 'approver') {
    if (message.retain) return deny('approvers may not publish retained messages');
    if (message.topic === mailOutTopic(identity.approverId)) return ALLOW;
    return deny(`an approver may publish only to its own outgoing mail, not ${JSON.stringify(message.topic)}`);
  }
  if (message.topic === COSIGNER_STATUS_TOPIC) return ALLOW;
  if (parseInboxTopic(message.topic)?.role === 'device') {
    return message.retain ? deny('inbox messages are never retained') : ALLOW;
  }
  if (parseMailTopic(message.topic)?.direction === 'in') {
    return message.retain ? deny('mail is never retained') : ALLOW;
  }
  return deny(`the co-signer publishes only to device inboxes, incoming mail and its status, not ${JSON.stringify(message.topic)}`);
}

/** Whether a message may reach this client at all: a second fence behind the subscription check. */
export function mayReceive(identity: BrokerIdentity, topic: string): boolean {
  if (identity.role === 'device') return topic === inboxTopic(identity.walletId, 'device') || topic === mailInTopic(identity.deviceId) || topic === COSIGNER_STATUS_TOPIC;
  if (identity.role === 'approver') return topic === mailInTopic(identity.approverId) || topic === COSIGNER_STATUS_TOPIC;
  return topic === COSIGNER_STATUS_TOPIC || parseInboxTopic(topic)?.role === 'cosigner' || parseMailTopic(topic)?.direction === 'out';
}

/**
 * The `acl` claim that EMQX (5.5 and later) enforces for a device or approver token. Order matters: the first
 * matching rule decides, and the final deny keeps EMQX from consulting any other authorizer.
 */
export type EmqxAclRule = {
  permission: 'allow' | 'deny';
  action: 'publish' | 'subscribe' | 'all';
  topic: string;
  retain?: boolean;
};

/**
 * A device's claim: its wallet's two inboxes, its own mailbox, the status. Takes an object because
 * both ids are 32 hex characters: swapped positional arguments would pass every check.
 */
export function emqxDeviceAcl(device: { deviceId: string; walletId: string }): EmqxAclRule[] {
  return [
    { permission: 'deny', action: 'publish', topic: '#', retain: true },
    { permission: 'allow', action: 'publish', topic: `eq ${inboxTopic(device.walletId, 'cosigner')}` },
    // The inbox of the pool instance that took its conversation (a wildcard in a topic filter, not in the name published).
    { permission: 'allow', action: 'publish', topic: `${inboxTopic(device.walletId, 'cosigner')}/+` },
    { permission: 'allow', action: 'publish', topic: `eq ${mailOutTopic(device.deviceId)}` },
    { permission: 'allow', action: 'subscribe', topic: `eq ${inboxTopic(device.walletId, 'device')}` },
    { permission: 'allow', action: 'subscribe', topic: `eq ${mailInTopic(device.deviceId)}` },
    { permission: 'allow', action: 'subscribe', topic: `eq ${COSIGNER_STATUS_TOPIC}` },
    { permission: 'deny', action: 'all', topic: '#' },
  ];
}

/** An approver's claim: its own mailbox and the status, nothing of any wallet. */
export function emqxApproverAcl(approverId: string): EmqxAclRule[] {
  return [
    { permission: 'deny', action: 'publish', topic: '#', retain: true },
    { permission: 'allow', action: 'publish', topic: `eq ${mailOutTopic(approverId)}` },
    { permission: 'allow', action: 'subscribe', topic: `eq ${mailInTopic(approverId)}` },
    { permission: 'allow', action: 'subscribe', topic: `eq ${COSIGNER_STATUS_TOPIC}` },
    { permission: 'deny', action: 'all', topic: '#' },
  ];
}
