/**
 * Helpers for the broker access-control tests (Aedes and Mosquitto), with real mqtt.js clients.
 *
 * "Nothing was delivered" is proven by ordering, not by sleeping: after the forbidden message,
 * a sentinel is sent that the same observer is allowed to get. A broker delivers to one
 * connection in publish order, so once the sentinel arrives the forbidden message would have
 * arrived before it.
 */
import { randomBytes } from 'node:crypto';
import { ErrorWithSubackPacket, connect, type IClientOptions, type MqttClient } from 'mqtt';
import { expect } from 'vitest';
import { inboxTopic, mailInTopic, mailOutTopic } from '../../channel/topics.js';
import { waitUntilConnected } from './embedded.js';

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
}

/** A connected client plus everything it received and whether its connection closed. */
export class Observer {
  readonly client: MqttClient;
  readonly received: Received[] = [];
  closed = false;
  readonly #waiters = new Set<() => void>();

  constructor(client: MqttClient) {
    this.client = client;
    client.on('message', (topic, payload, packet) => {
      this.received.push({ topic, payload: payload.toString('utf8'), retain: packet.retain });
      this.#notify();
    });
    client.on('close', () => {
      this.closed = true;
      this.#notify();
    });
    // refusals surface as 'error' on the client; tests look at their effects instead
    client.on('error', () => {});
  }

  #notify(): void {
    for (const waiter of this.#waiters) waiter();
  }

  payloads(): string[] {
    return this.received.map((message) => message.payload);
  }

  /** Resolves when `condition` holds, rejects after `timeoutMs` with `what` in the message. */
  until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  receivedPayload(payload: string, timeoutMs?: number): Promise<void> {
    return this.until(() => this.payloads().includes(payload), `message ${payload}`, timeoutMs);
  }

  disconnected(timeoutMs?: number): Promise<void> {
    return this.until(() => this.closed, 'the connection to close', timeoutMs);
  }

  /** The SUBACK's answer for this one filter: the granted QoS, or 128 for a refusal. */
  async subscribe(topic: string, qos: 0 | 1 = 1): Promise<number> {
    try {
      const [grant] = await this.client.subscribeAsync(topic, { qos });
      return grant!.qos;
    } catch (error) {
      if (error instanceof ErrorWithSubackPacket && typeof error.packet.granted[0] === 'number') return error.packet.granted[0];
      throw error;
    }
  }

  /** Publishes and waits for the PUBACK; a broker that closes the connection instead makes this reject or hang, so it is raced against close. */
  async publish(topic: string, payload: string | Buffer, options: { retain?: boolean; qos?: 0 | 1 } = {}): Promise<'acknowledged' | 'connection-closed'> {
    const acknowledged = this.client.publishAsync(topic, payload, { qos: options.qos ?? 1, retain: options.retain ?? false }).then(
      () => 'acknowledged' as const,
      () => 'connection-closed' as const,
    );
    const closed = this.disconnected(10_000).then(() => 'connection-closed' as const);
    return Promise.race([acknowledged, closed]);
  }

  async end(): Promise<void> {
    await this.client.endAsync(true).catch(() => {});
  }
}

export function marker(label: string): string {
  return `${label}-${randomBytes(6).toString('hex')}`;
}

export function randomHexId(): string {
  return randomBytes(16).toString('hex');
}

export type ConnectOptions = Pick<IClientOptions, 'clientId' | 'username' | 'password' | 'ca' | 'protocolVersion' | 'key' | 'cert' | 'clean'>;

/** Connects without retrying; rejects with mqtt.js's error (its `code` is the CONNACK return code). */
export async function connectObserver(url: string, options: ConnectOptions): Promise<Observer> {
  const client = connect(url, {
    protocolVersion: 4,
    clean: false,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    keepalive: 30,
    ...options,
  });
  const observer = new Observer(client);
  try {
    await Promise.race([
      waitUntilConnected(client, 8000),
      observer.disconnected(8000).then(() => {
        throw new Error('the broker closed the connection without accepting it');
      }),
    ]);
  } catch (error) {
    client.end(true);
    throw error;
  }
  return observer;
}

/** A sentinel from `from` into its wallet's co-signer inbox arrives: the co-signer's inbox still flows. */
export async function expectCosignerStillHears(cosigner: Observer, from: Observer, walletId: string): Promise<void> {
  const sentinel = marker('sentinel');
  expect(await from.publish(inboxTopic(walletId, 'cosigner'), sentinel)).toBe('acknowledged');
  await cosigner.receivedPayload(sentinel);
}

/**
 * Device B, having tried to subscribe to more than its own inbox, receives only what is sent to its
 * own inbox: not device A's messages, nor A's messages to the co-signer. Delivery is what is checked
 * (a broker may grant a forbidden SUBACK and filter later), with a sentinel proving B's inbox works.
 */
export async function expectDeliveryOnlyToOwnInbox(parties: { cosigner: Observer; a: Observer; b: Observer; walletA: string; walletB: string }): Promise<void> {
  const { cosigner, a, b, walletA, walletB } = parties;
  const secret = marker('for-a-only');
  await cosigner.publish(inboxTopic(walletA, 'device'), secret);
  await a.receivedPayload(secret);
  const up = marker('a-to-cosigner');
  await a.publish(inboxTopic(walletA, 'cosigner'), up);
  await cosigner.receivedPayload(up);
  const sentinel = marker('for-b');
  await cosigner.publish(inboxTopic(walletB, 'device'), sentinel);
  await b.receivedPayload(sentinel);
  expect(b.received.map((m) => m.topic)).toEqual(b.received.map(() => inboxTopic(walletB, 'device')));
  expect(b.payloads()).not.toContain(secret);
  expect(b.payloads()).not.toContain(up);
}

/** Filters a holder (device or approver) must not get through to anyone else's mail with. */
export function foreignMailFilters(ownHolderId: string, otherHolderId: string): string[] {
  return [mailInTopic(otherHolderId), mailOutTopic(otherHolderId), mailOutTopic(ownHolderId), 'tandem/v1/mail/+/in', 'tandem/v1/mail/+/out', 'tandem/v1/mail/#', '#'];
}

/**
 * Mailboxes, by delivery: holder A and the co-signer exchange mail both ways; holder B (device or
 * approver, having tried to subscribe to more than its own mail) receives only letters to its own
 * `in` box, none of A's either way. The co-signer must already be subscribed to every `out` box.
 */
export async function expectMailOnlyToOwnBox(parties: { cosigner: Observer; a: Observer; b: Observer; holderA: string; holderB: string }): Promise<void> {
  const { cosigner, a, b, holderA, holderB } = parties;
  const secret = marker('mail-for-a');
  await cosigner.publish(mailInTopic(holderA), secret);
  await a.receivedPayload(secret);
  const up = marker('mail-from-a');
  expect(await a.publish(mailOutTopic(holderA), up)).toBe('acknowledged');
  await cosigner.receivedPayload(up);
  expect(cosigner.received.find((m) => m.payload === up)?.topic).toBe(mailOutTopic(holderA));
  const sentinel = marker('mail-for-b');
  await cosigner.publish(mailInTopic(holderB), sentinel);
  await b.receivedPayload(sentinel);
  expect(b.received.filter((m) => m.topic.startsWith('tandem/v1/mail/')).map((m) => m.topic)).toEqual(
    b.received.filter((m) => m.topic.startsWith('tandem/v1/mail/')).map(() => mailInTopic(holderB)),
  );
  expect(b.payloads()).not.toContain(secret);
  expect(b.payloads()).not.toContain(up);
}

/**
 * Holder B forges mail: into A's `out` box (posing as A to the co-signer) and into A's `in` box
 * (posing as the co-signer to A). Neither is delivered; A's mail still flows both ways afterwards.
 * A broker may acknowledge and drop (Mosquitto) or disconnect B (Aedes): both are fine.
 */
export async function expectForgedMailDropped(parties: { cosigner: Observer; a: Observer; b: Observer; holderA: string }): Promise<void> {
  const { cosigner, a, b, holderA } = parties;
  const posingAsA = marker('forged-out');
  const posingAsCosigner = marker('forged-in');
  await b.publish(mailOutTopic(holderA), posingAsA);
  if (!b.closed) await b.publish(mailInTopic(holderA), posingAsCosigner);
  const up = marker('real-out');
  expect(await a.publish(mailOutTopic(holderA), up)).toBe('acknowledged');
  await cosigner.receivedPayload(up);
  const down = marker('real-in');
  await cosigner.publish(mailInTopic(holderA), down);
  await a.receivedPayload(down);
  expect(cosigner.payloads()).not.toContain(posingAsA);
  expect(a.payloads()).not.toContain(posingAsCosigner);
}
