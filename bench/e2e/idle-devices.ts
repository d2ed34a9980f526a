/**
 * Many enrolled devices, each holding one persistent MQTT connection over WSS to the co-signer's
 * embedded broker with its own token and a subscription to its inbox, then doing nothing: what
 * a co-signer carries for extensions that are open but not signing.
 */
import { inboxTopic } from '../../src/channel/topics.js';
import { MqttTransport } from '../../src/channel/transport.js';
import { SourceAddressEnroller, type EnrolledDevice } from './enroll-from.js';

export interface IdleFleetOptions {
  cosignerUrl: string;
  caPem: string;
  count: number;
  /** Enrollments (HTTPS) in flight at once. */
  enrollConcurrency: number;
  /** Connections being set up at once. */
  connectConcurrency: number;
  /** Devices per loopback source address; keep it under the co-signer's 120 challenges a minute per address. */
  devicesPerAddress: number;
  keepaliveSeconds: number;
  progress: (line: string) => void;
}

export interface IdleFleet {
  enrolled: number;
  enrollMs: number;
  connectMs: number;
  failures: string[];
  /** Transports whose state is 'online' right now. */
  connected(): number;
  close(): Promise<void>;
}

async function runPool<T>(items: T[], concurrency: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (;;) {
      const index = next++;
      if (index >= items.length) return;
      await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

function sourceAddress(index: number, perAddress: number): string {
  const n = 2 + Math.floor(index / perAddress);
  return `127.0.${n >> 8}.${n & 0xff}`;
}

export async function startIdleFleet(options: IdleFleetOptions): Promise<IdleFleet> {
  const failures: string[] = [];
  const enroller = new SourceAddressEnroller(options.cosignerUrl, options.caPem);
  const devices: EnrolledDevice[] = [];
  const slots = Array.from({ length: options.count }, (_, i) => i);

  const enrollStart = performance.now();
  await runPool(slots, options.enrollConcurrency, async (index) => {
    try {
      devices.push(await enroller.enroll(sourceAddress(index, options.devicesPerAddress)));
    } catch (error) {
      failures.push(`enroll #${index}: ${(error as Error).message.split('\n')[0]}`);
    }
    if (devices.length % 250 === 0) options.progress(`enrolled ${devices.length}/${options.count}`);
  });
  const enrollMs = performance.now() - enrollStart;
  enroller.close();

  const transports: MqttTransport[] = [];
  const connectStart = performance.now();
  await runPool(devices, options.connectConcurrency, async (device, index) => {
    const transport = new MqttTransport({
      url: device.brokerUrl,
      clientId: `d-${device.deviceId}`,
      username: device.deviceId,
      password: device.token,
      clean: false,
      keepaliveSeconds: options.keepaliveSeconds,
      connectTimeoutMs: 60_000,
      tls: { ca: options.caPem },
    });
    transports.push(transport);
    try {
      await transport.subscribe(inboxTopic(device.walletId, 'device'), () => undefined);
      await transport.connect();
    } catch (error) {
      failures.push(`connect #${index}: ${(error as Error).message.split('\n')[0]}`);
    }
    if ((index + 1) % 250 === 0) options.progress(`connected ${index + 1}/${devices.length}`);
  });
  const connectMs = performance.now() - connectStart;

  return {
    enrolled: devices.length,
    enrollMs,
    connectMs,
    failures,
    connected: () => transports.filter((transport) => transport.state === 'online').length,
    async close() {
      await runPool(transports, 64, async (transport) => {
        await transport.close().catch(() => undefined);
      });
    },
  };
}
