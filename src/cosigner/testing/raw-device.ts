/** The device side of a wallet file, by hand: for tests that misbehave inside a valid channel. */
import { Channel } from '../../channel/channel.js';
import { Identity } from '../../channel/identity.js';
import { deviceClientId, inboxTopic } from '../../channel/topics.js';
import { MqttTransport } from '../../channel/transport.js';
import type { DeviceFileContents } from '../../client/device-file.js';

export async function rawDevice(contents: DeviceFileContents): Promise<{ channel: Channel; transport: MqttTransport }> {
  const transport = new MqttTransport({
    url: contents.brokerUrl,
    clientId: deviceClientId(contents.deviceId),
    username: contents.deviceId,
    password: contents.token,
    tls: { ca: contents.caPem! },
  });
  const channel = await Channel.create({ transport, identity: Identity.fromSecretKey(contents.identitySecret), role: 'device', inboxes: [inboxTopic(contents.walletId, 'device')] });
  await transport.connect();
  return { channel, transport };
}
