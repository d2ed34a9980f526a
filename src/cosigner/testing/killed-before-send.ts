import { ProtocolConversation } from '../../channel/protocol-conversation.js';

/**
 * A device's conversation that dies just before its `limit`-th send, as a killed service worker
 * would: nothing it would do after that happens. `sent` lists what each earlier send carried, as
 * its header type and the rounds of its MPC messages ("restore 1", "mpc 2,3").
 */
export class KilledBeforeSend extends ProtocolConversation {
  sends = 0;
  limit = 0;
  readonly sent: string[] = [];
  override async send(...args: Parameters<ProtocolConversation['send']>): Promise<void> {
    if (this.sends++ === this.limit) throw new Error('service worker killed');
    this.sent.push(`${args[0].type} ${[...new Set((args[1] ?? []).map((message) => message.round))].join(',')}`.trim());
    return super.send(...args);
  }
}
