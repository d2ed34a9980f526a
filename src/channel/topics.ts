/**
 * MQTT topic names, the one place both sides and the broker's access rules take them from.
 *
 * A wallet's two online roles each have one inbox. MPC party ids travel inside the
 * encrypted payload, so the broker learns only which wallet talks and in which direction.
 */

export const TOPIC_ROOT = 'tandem/v1';

/** The two roles that exchange messages over the broker. The backup party is never online. */
export type ChannelRole = 'device' | 'cosigner';

/** Wallet ids are 32 lowercase hex characters: nothing that could be an MQTT wildcard or separator. */
export const WALLET_ID_PATTERN = /^[0-9a-f]{32}$/;

/** Device ids, derived from the device's identity key: also 32 lowercase hex characters. */
export const DEVICE_ID_PATTERN = /^[0-9a-f]{32}$/;

export function inboxTopic(walletId: string, role: ChannelRole): string {
  if (!WALLET_ID_PATTERN.test(walletId)) throw new TypeError(`Not a wallet id: ${JSON.stringify(walletId)}`);
  return `${TOPIC_ROOT}/w/${walletId}/to/${role}`;
}

/** What a co-signer subscribes to: every wallet's co-signer inbox. */
export const COSIGNER_INBOX_FILTER = `${TOPIC_ROOT}/w/+/to/cosigner`;

/** Co-signer presence. Only the co-signer (and the broker, through its last will) may publish here. */
export const COSIGNER_STATUS_TOPIC = `${TOPIC_ROOT}/status/cosigner`;

/** Parses an inbox topic back into its wallet id and role, or returns undefined. */
export function parseInboxTopic(topic: string): { walletId: string; role: ChannelRole } | undefined {
  const match = /^tandem\/v1\/w\/([0-9a-f]{32})\/to\/(device|cosigner)$/.exec(topic);
  if (!match) return undefined;
  return { walletId: match[1]!, role: match[2] as ChannelRole };
}

/** The MQTT client id a device must use: bound to its identity so nobody else can take its session over. */
export function deviceClientId(deviceId: string): string {
  if (!DEVICE_ID_PATTERN.test(deviceId)) throw new TypeError(`Not a device id: ${JSON.stringify(deviceId)}`);
  return `d-${deviceId}`;
}

/**
 * Co-signer instance ids: short, lowercase, no MQTT separators or wildcards. A co-signer in a pool
 * takes a session from the shared role inbox and names its instance in the accept frame; the device
 * then sends the rest of that session to the instance inbox, which only that instance subscribes to.
 */
export const INSTANCE_ID_PATTERN = /^[0-9a-z][0-9a-z-]{0,31}$/;

/** The inbox of one instance of a role, inside the wallet's namespace: `.../w/{walletId}/to/{role}/{instanceId}`. */
export function instanceInboxTopic(walletId: string, role: ChannelRole, instanceId: string): string {
  if (!INSTANCE_ID_PATTERN.test(instanceId)) throw new TypeError(`Not an instance id: ${JSON.stringify(instanceId)}`);
  return `${inboxTopic(walletId, role)}/${instanceId}`;
}

/** What one co-signer instance subscribes to besides the shared inbox: its own inbox in every wallet. */
export function cosignerInstanceInboxFilter(instanceId: string): string {
  if (!INSTANCE_ID_PATTERN.test(instanceId)) throw new TypeError(`Not an instance id: ${JSON.stringify(instanceId)}`);
  return `${TOPIC_ROOT}/w/+/to/cosigner/${instanceId}`;
}

/** Parses a role inbox or an instance inbox topic, or returns undefined. */
export function parseAnyInboxTopic(topic: string): { walletId: string; role: ChannelRole; instanceId?: string } | undefined {
  const match = /^tandem\/v1\/w\/([0-9a-f]{32})\/to\/(device|cosigner)(?:\/([0-9a-z][0-9a-z-]{0,31}))?$/.exec(topic);
  if (!match) return undefined;
  const parsed: { walletId: string; role: ChannelRole; instanceId?: string } = { walletId: match[1]!, role: match[2] as ChannelRole };
  if (match[3] !== undefined) parsed.instanceId = match[3];
  return parsed;
}

/**
 * Mailboxes: where the co-signer leaves messages for a device or an approver that may be offline
 * (a pending request for an approver, a finished one for the device that asked), and where they
 * write back (decisions, status inquiries). The holder id is a device id or an approver id, both
 * derived from the holder's identity key. Persistent sessions at QoS 1 keep them while the holder
 * is away; every message is sealed to its reader (mail.ts), so the broker learns only who gets mail.
 */
export const MAIL_ROOT = `${TOPIC_ROOT}/mail`;

/** The co-signer writes here; only the holder reads. */
export function mailInTopic(holderId: string): string {
  if (!DEVICE_ID_PATTERN.test(holderId)) throw new TypeError(`Not a device or approver id: ${JSON.stringify(holderId)}`);
  return `${MAIL_ROOT}/${holderId}/in`;
}

/** The holder writes here; only the co-signer reads. */
export function mailOutTopic(holderId: string): string {
  if (!DEVICE_ID_PATTERN.test(holderId)) throw new TypeError(`Not a device or approver id: ${JSON.stringify(holderId)}`);
  return `${MAIL_ROOT}/${holderId}/out`;
}

/** What the co-signer subscribes to for mail: every holder's outgoing box. */
export const COSIGNER_MAIL_FILTER = `${MAIL_ROOT}/+/out`;

export function parseMailTopic(topic: string): { holderId: string; direction: 'in' | 'out' } | undefined {
  const match = /^tandem\/v1\/mail\/([0-9a-f]{32})\/(in|out)$/.exec(topic);
  if (!match) return undefined;
  return { holderId: match[1]!, direction: match[2] as 'in' | 'out' };
}

/** The MQTT client id of an approver: bound to its identity, as a device's is. */
export function approverClientId(approverId: string): string {
  if (!DEVICE_ID_PATTERN.test(approverId)) throw new TypeError(`Not an approver id: ${JSON.stringify(approverId)}`);
  return `a-${approverId}`;
}
