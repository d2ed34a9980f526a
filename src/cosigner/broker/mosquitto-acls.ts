/**
 * The access rules of access-rules.ts expressed as Mosquitto dynamic-security roles.
 *
 * Every check defaults to deny (see DEFAULT_ACL_ACCESS), including delivery
 * (`publishClientReceive`), so a subscription that slipped through would still carry nothing.
 * Device subscriptions use `subscribeLiteral`: the filter must be exactly the allowed topic, so
 * no wildcard filter a device sends can match it.
 *
 * What dynamic security cannot express: a rule about the retain flag. Retained messages are
 * therefore switched off for the whole broker (`retain_available false`, see mosquitto-config.ts).
 *
 * Nor can it substitute the username into a topic: Mosquitto 2.0.11's plugin takes `%u` literally
 * (a role allowing `.../%u/in` lets a client subscribe to the topic `.../%u/in` itself, and nothing
 * of its own; checked against the real broker). So a holder's mailbox, which is per identity and not
 * per wallet, is a role per holder: `device-<deviceId>` beside the wallet role, `approver-<approverId>`.
 */
import {
  COSIGNER_INBOX_FILTER,
  COSIGNER_MAIL_FILTER,
  COSIGNER_STATUS_TOPIC,
  DEVICE_ID_PATTERN,
  MAIL_ROOT,
  TOPIC_ROOT,
  WALLET_ID_PATTERN,
  inboxTopic,
  mailInTopic,
  mailOutTopic,
} from '../../channel/topics.js';
import { COSIGNER_SHARED_INBOX_FILTER, COSIGNER_SHARED_MAIL_FILTER } from './access-rules.js';

export type DynsecAclType =
  | 'publishClientSend'
  | 'publishClientReceive'
  | 'subscribeLiteral'
  | 'subscribePattern'
  | 'unsubscribeLiteral'
  | 'unsubscribePattern';

export interface DynsecAcl {
  acltype: DynsecAclType;
  topic: string;
  allow: boolean;
  priority?: number;
}

export const DEFAULT_ACL_ACCESS = {
  publishClientSend: false,
  publishClientReceive: false,
  subscribe: false,
  unsubscribe: true,
} as const;

export const DYNSEC_CONTROL_TOPIC = '$CONTROL/dynamic-security/v1';
export const DYNSEC_RESPONSE_TOPIC = '$CONTROL/dynamic-security/v1/response';

/** Role of every co-signer instance: its topics plus administering dynamic security. */
export const COSIGNER_ROLE = 'tandem-cosigner';
/** Role of a read-everything observer, used only by tests that check what the broker can see. */
export const TAP_ROLE = 'tandem-tap';

const allow = (acltype: DynsecAclType, topic: string): DynsecAcl => ({ acltype, topic, allow: true });

export function cosignerRoleAcls(): DynsecAcl[] {
  const deviceInboxes = `${TOPIC_ROOT}/w/+/to/device`;
  const holderMailIn = `${MAIL_ROOT}/+/in`;
  return [
    allow('subscribePattern', COSIGNER_INBOX_FILTER),
    // Mosquitto checks a shared subscription against its full `$share/...` filter
    allow('subscribePattern', COSIGNER_SHARED_INBOX_FILTER),
    allow('subscribePattern', COSIGNER_MAIL_FILTER),
    allow('subscribePattern', COSIGNER_SHARED_MAIL_FILTER),
    // A pool member's own inboxes (.../to/cosigner/<instance>), where the conversations it took go on.
    allow('subscribePattern', `${COSIGNER_INBOX_FILTER}/+`),
    allow('publishClientReceive', `${COSIGNER_INBOX_FILTER}/+`),
    allow('subscribeLiteral', COSIGNER_STATUS_TOPIC),
    allow('publishClientReceive', COSIGNER_INBOX_FILTER),
    allow('publishClientReceive', COSIGNER_MAIL_FILTER),
    allow('publishClientReceive', COSIGNER_STATUS_TOPIC),
    allow('publishClientSend', deviceInboxes),
    allow('publishClientSend', holderMailIn),
    allow('publishClientSend', COSIGNER_STATUS_TOPIC),
    allow('publishClientSend', `${DYNSEC_CONTROL_TOPIC}`),
    allow('subscribeLiteral', DYNSEC_RESPONSE_TOPIC),
    allow('publishClientReceive', DYNSEC_RESPONSE_TOPIC),
  ];
}

export function tapRoleAcls(): DynsecAcl[] {
  return [allow('subscribePattern', '#'), allow('publishClientReceive', '#')];
}

export function walletRoleName(walletId: string): string {
  if (!WALLET_ID_PATTERN.test(walletId)) throw new TypeError(`Not a wallet id: ${JSON.stringify(walletId)}`);
  return `wallet-${walletId}`;
}

/** What every device of one wallet may do: write to the co-signer's inbox, read its own and the status. */
export function walletRoleAcls(walletId: string): DynsecAcl[] {
  const ownInbox = inboxTopic(walletId, 'device');
  return [
    allow('publishClientSend', inboxTopic(walletId, 'cosigner')),
    // ...and the inbox of the pool instance that took its conversation.
    allow('publishClientSend', `${inboxTopic(walletId, 'cosigner')}/+`),
    allow('subscribeLiteral', ownInbox),
    allow('subscribeLiteral', COSIGNER_STATUS_TOPIC),
    allow('publishClientReceive', ownInbox),
    allow('publishClientReceive', COSIGNER_STATUS_TOPIC),
  ];
}

/** The role of one device beside its wallet role: its own mailbox. */
export function deviceRoleName(deviceId: string): string {
  if (!DEVICE_ID_PATTERN.test(deviceId)) throw new TypeError(`Not a device id: ${JSON.stringify(deviceId)}`);
  return `device-${deviceId}`;
}

/** What one device may do besides its wallet's inboxes: read its mail `in` box, write its mail `out` box. */
export function deviceRoleAcls(deviceId: string): DynsecAcl[] {
  return mailboxAcls(deviceId);
}

export function approverRoleName(approverId: string): string {
  if (!DEVICE_ID_PATTERN.test(approverId)) throw new TypeError(`Not an approver id: ${JSON.stringify(approverId)}`);
  return `approver-${approverId}`;
}

/** Everything an approver may do: its own mailbox and the co-signer status. */
export function approverRoleAcls(approverId: string): DynsecAcl[] {
  return [
    ...mailboxAcls(approverId),
    allow('subscribeLiteral', COSIGNER_STATUS_TOPIC),
    allow('publishClientReceive', COSIGNER_STATUS_TOPIC),
  ];
}

function mailboxAcls(holderId: string): DynsecAcl[] {
  const mailIn = mailInTopic(holderId);
  return [allow('publishClientSend', mailOutTopic(holderId)), allow('subscribeLiteral', mailIn), allow('publishClientReceive', mailIn)];
}
