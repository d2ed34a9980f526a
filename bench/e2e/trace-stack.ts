/** What the signature profile times, on either side: MPC steps, the channel, the transport, files. */
import { Channel } from '../../src/channel/channel.js';
import { Conversation } from '../../src/channel/conversation.js';
import { ProtocolConversation } from '../../src/channel/protocol-conversation.js';
import { ChannelSession } from '../../src/channel/session.js';
import { MqttTransport } from '../../src/channel/transport.js';
import { DeviceFile } from '../../src/client/device-file.js';
import { SignParty } from '../../src/mpc/sign.js';
import { traceClass, type TraceSink } from './trace.js';

export function traceStack(sink: TraceSink): void {
  traceClass(SignParty, sink, { only: ['start', 'receive', 'signPayload', 'exportState'], statics: ['create', 'fromState'] });
  traceClass(ProtocolConversation, sink, { label: 'link', only: ['send', 'receive', 'relay'] });
  traceClass(Conversation, sink, { only: ['send', 'receive', 'deliver'] });
  traceClass(ChannelSession, sink, { label: 'session', only: ['seal', 'receive'], statics: ['initiate', 'respond'] });
  traceClass(Channel, sink, { only: ['open'] });
  traceClass(MqttTransport, sink, { label: 'mqtt', only: ['publish'] });
  traceClass(DeviceFile, sink, { only: ['update', 'takePresignature'] });
}
