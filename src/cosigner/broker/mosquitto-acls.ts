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
 */
import { COSIGNER_INBOX_FILTER, COSIGNER_STATUS_TOPIC, TOPIC_ROOT, WALLET_ID_PATTERN, inboxTopic } from '../../channel/topics.js';
import { COSIGNER_SHARED_INBOX_FILTER } from './access-rules.js';

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
  return [
    allow('subscribePattern', COSIGNER_INBOX_FILTER),
    // Mosquitto checks a shared subscription against its full `$share/...` filter
    allow('subscribePattern', COSIGNER_SHARED_INBOX_FILTER),
    allow('subscribeLiteral', COSIGNER_STATUS_TOPIC),
    allow('publishClientReceive', COSIGNER_INBOX_FILTER),
    allow('publishClientReceive', COSIGNER_STATUS_TOPIC),
    allow('publishClientSend', deviceInboxes),
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
    allow('subscribeLiteral', ownInbox),
    allow('subscribeLiteral', COSIGNER_STATUS_TOPIC),
    allow('publishClientReceive', ownInbox),
    allow('publishClientReceive', COSIGNER_STATUS_TOPIC),
  ];
}
