/**
 * Who may do what on the broker, in one place: the embedded Aedes hooks decide with these
 * functions, and the Mosquitto dynamic-security roles and EMQX token ACLs are generated from
 * the same topic helpers, so the three brokers enforce one policy.
 *
 * Roles: a device (one wallet, one inbox to read, one to write) and the co-signer. Nobody else.
 */
import { COSIGNER_INBOX_FILTER, COSIGNER_STATUS_TOPIC, inboxTopic, parseInboxTopic } from '../../channel/topics.js';

/** The MQTT client id and username of the co-signer's own connection to a broker it runs or provisions. */
export const COSIGNER_CLIENT_ID = 'tandem-cosigner';

/**
 * Co-signer instances of a pool share the co-signer inboxes through this MQTT 5 shared
 * subscription (Mosquitto, EMQX; Aedes has no shared subscriptions and runs one instance).
 */
export const COSIGNER_SHARE_GROUP = 'tandem-cosigners';
export const COSIGNER_SHARED_INBOX_FILTER = `$share/${COSIGNER_SHARE_GROUP}/${COSIGNER_INBOX_FILTER}`;

/** Payloads above this are refused: the largest DKLs23 message (presigning) is about 40 KB before encryption. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024;

/** Room for the fixed header, topic, packet id and MQTT 5 properties on top of the payload limit. */
export const PACKET_OVERHEAD_BYTES = 512;

export type BrokerIdentity =
  | { role: 'device'; deviceId: string; walletId: string; expiresAt: number }
  | { role: 'cosigner' };

export type AccessDecision = { allowed: true } | { allowed: false; reason: string };

const ALLOW: AccessDecision = { allowed: true };
const deny = (reason: string): AccessDecision => ({ allowed: false, reason });

export function maySubscribe(identity: BrokerIdentity, filter: string): AccessDecision {
  if (identity.role === 'device') {
    if (filter === inboxTopic(identity.walletId, 'device') || filter === COSIGNER_STATUS_TOPIC) return ALLOW;
    return deny(`a device may subscribe only to its own inbox and the co-signer status, not ${JSON.stringify(filter)}`);
  }
  if (filter === COSIGNER_INBOX_FILTER || filter === COSIGNER_STATUS_TOPIC) return ALLOW;
  if (parseInboxTopic(filter)?.role === 'cosigner') return ALLOW;
  return deny(`the co-signer subscribes only to co-signer inboxes and its status, not ${JSON.stringify(filter)}`);
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
    if (message.topic === inboxTopic(identity.walletId, 'cosigner')) return ALLOW;
    return deny(`a device may publish only to its wallet's co-signer inbox, not ${JSON.stringify(message.topic)}`);
  }
  if (message.topic === COSIGNER_STATUS_TOPIC) return ALLOW;
  if (parseInboxTopic(message.topic)?.role === 'device') {
    return message.retain ? deny('inbox messages are never retained') : ALLOW;
  }
  return deny(`the co-signer publishes only to device inboxes and its status, not ${JSON.stringify(message.topic)}`);
}

/** Whether a message may reach this client at all: a second fence behind the subscription check. */
export function mayReceive(identity: BrokerIdentity, topic: string): boolean {
  if (identity.role === 'device') return topic === inboxTopic(identity.walletId, 'device') || topic === COSIGNER_STATUS_TOPIC;
  return topic === COSIGNER_STATUS_TOPIC || parseInboxTopic(topic)?.role === 'cosigner';
}

/**
 * The `acl` claim that EMQX (5.5 and later) enforces for a device token. Order matters: the first
 * matching rule decides, and the final deny keeps EMQX from consulting any other authorizer.
 */
export type EmqxAclRule = {
  permission: 'allow' | 'deny';
  action: 'publish' | 'subscribe' | 'all';
  topic: string;
  retain?: boolean;
};

export function emqxDeviceAcl(walletId: string): EmqxAclRule[] {
  return [
    { permission: 'deny', action: 'publish', topic: '#', retain: true },
    { permission: 'allow', action: 'publish', topic: `eq ${inboxTopic(walletId, 'cosigner')}` },
    { permission: 'allow', action: 'subscribe', topic: `eq ${inboxTopic(walletId, 'device')}` },
    { permission: 'allow', action: 'subscribe', topic: `eq ${COSIGNER_STATUS_TOPIC}` },
    { permission: 'deny', action: 'all', topic: '#' },
  ];
}
