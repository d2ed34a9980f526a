/**
 * Co-signer presence: signed status frames on COSIGNER_STATUS_TOPIC.
 *
 * The co-signer publishes 'online' (retained where the broker allows it) and registers a
 * pre-signed 'offline' frame as its last will, which the broker publishes if the connection dies.
 * Devices verify every status against the pinned co-signer key, so nobody else can fake one even
 * where the broker ACL would let them publish. With heartbeats, presence also works on a broker
 * without retained messages: a watcher turns 'offline' after a number of missed beats.
 *
 * Ordering: a status belongs to one connection of one instance, identified by (startedAt,
 * connection). A later one wins; within one connection, 'offline' is final and older heartbeats are
 * ignored, so replaying an old frame changes nothing. The last will is signed in advance, so each
 * reconnection registers a new will for the next connection number before it reconnects.
 */
import { ChannelError, invalidArgument } from './errors.js';
import { decodeFrame, encodeStatus, signedPart, type PresenceState, type StatusFrame } from './frame.js';
import { parsePublicKey, verifyIdentitySignature, type Identity } from './identity.js';
import { COSIGNER_STATUS_TOPIC, INSTANCE_ID_PATTERN } from './topics.js';
import type { MqttTransport, TransportOptions } from './transport.js';

export interface PresenceStatus {
  state: 'unknown' | PresenceState;
  /** Why the state is what it is: a signed status frame, or heartbeats that stopped. */
  reason: 'none' | 'status' | 'heartbeat-missed';
  instanceId?: string;
  startedAt?: number;
  connection?: number;
  /** The co-signer's clock when it signed the last accepted status. */
  issuedAt?: number;
  heartbeatMs?: number;
  /** Local clock when the last accepted status arrived. */
  seenAt?: number;
  /** Every instance online, newest first (a pool of co-signers has several). */
  onlineInstances?: string[];
}

export interface PresenceIdentity {
  instanceId: string;
  /** Unix ms when this co-signer instance started. */
  startedAt: number;
}

function checkInstance(instanceId: string): void {
  if (!INSTANCE_ID_PATTERN.test(instanceId)) throw invalidArgument('Not an instance id.', JSON.stringify(instanceId));
}

/** A status frame signed by the co-signer identity. */
export function signStatus(
  identity: Identity,
  fields: PresenceIdentity & { state: PresenceState; issuedAt: number; connection?: number; heartbeatMs?: number },
): Uint8Array {
  checkInstance(fields.instanceId);
  return encodeStatus(
    {
      state: fields.state,
      instance: fields.instanceId,
      startedAt: fields.startedAt,
      connection: fields.connection ?? 0,
      issuedAt: fields.issuedAt,
      heartbeatMs: fields.heartbeatMs ?? 0,
    },
    (signed) => identity.sign('status', signed),
  );
}

/** Decodes a status frame and checks it is signed by the pinned co-signer key. */
export function verifyStatus(payload: Uint8Array, cosignerKey: Uint8Array | string): StatusFrame {
  const frame = decodeFrame(payload);
  if (frame.type !== 'status') throw new ChannelError('CHANNEL_BAD_FRAME', 'Expected a presence frame.', { details: `got ${frame.type}` });
  if (!verifyIdentitySignature(parsePublicKey(cosignerKey), 'status', signedPart(frame), frame.signature)) {
    throw new ChannelError('CHANNEL_BAD_SIGNATURE', 'A presence frame is not signed by the pinned co-signer key.');
  }
  return frame;
}

/** The last will a co-signer connects with: a pre-signed 'offline' for this instance and connection (default 0, the first). */
export function presenceWill(
  identity: Identity,
  instance: PresenceIdentity,
  options: { retain?: boolean; connection?: number; now?: () => number } = {},
): NonNullable<TransportOptions['will']> {
  const issuedAt = (options.now ?? Date.now)();
  return {
    topic: COSIGNER_STATUS_TOPIC,
    payload: signStatus(identity, { ...instance, state: 'offline', connection: options.connection ?? 0, issuedAt }),
    retain: options.retain ?? true,
  };
}

export interface PresencePublisher {
  /** Publishes a signed 'offline' (before a clean disconnect, which does not fire the will) and stops heartbeats. */
  stop(): Promise<void>;
}

/**
 * Announces the co-signer: 'online' now, after every reconnection and, with heartbeatMs > 0, every
 * heartbeatMs. If the transport has a last will (presenceWill, connection 0), each reconnection
 * replaces it with one for the next connection. Set retain: false on a broker without retained
 * messages (Mosquitto with retain_available false disconnects a client that publishes one).
 */
export async function startPresence(
  transport: MqttTransport,
  identity: Identity,
  instance: PresenceIdentity,
  options: { heartbeatMs?: number; retain?: boolean; now?: () => number; onError?: (error: unknown) => void } = {},
): Promise<PresencePublisher> {
  checkInstance(instance.instanceId);
  const now = options.now ?? Date.now;
  const heartbeatMs = options.heartbeatMs ?? 0;
  const retain = options.retain ?? true;
  const withWill = transport.hasWill;
  let connection = 0;
  const announce = (state: PresenceState) =>
    transport.publish(COSIGNER_STATUS_TOPIC, signStatus(identity, { ...instance, state, connection, issuedAt: now(), heartbeatMs }), { retain });
  await announce('online');
  // The broker publishes the will of the lost connection; the next one gets its own will and says 'online' again.
  const stopListening = transport.onStateChange((state) => {
    if (state === 'reconnecting') {
      connection++;
      if (withWill) transport.setWill(presenceWill(identity, instance, { retain, connection, now }));
    }
    if (state === 'online') announce('online').catch((error: unknown) => options.onError?.(error));
  });
  const timer =
    heartbeatMs > 0
      ? setInterval(() => {
          announce('online').catch((error: unknown) => options.onError?.(error));
        }, heartbeatMs)
      : undefined;
  let stopped = false;
  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      stopListening();
      clearInterval(timer);
      await announce('offline');
    },
  };
}

export interface PresenceWatch {
  readonly status: PresenceStatus;
  stop(): Promise<void>;
}

/** What a watcher knows of one co-signer instance. */
interface InstanceView {
  instanceId: string;
  startedAt: number;
  state: PresenceState;
  reason: 'status' | 'heartbeat-missed';
  connection: number;
  issuedAt: number;
  heartbeatMs: number;
  seenAt: number;
  /** Its current connection said 'offline' (or its will did): nothing older from it counts. */
  ended: boolean;
  silenceTimer?: ReturnType<typeof setTimeout>;
}

/**
 * Follows the co-signer's presence: `onChange` gets every change of state, and of the instances online.
 * Frames that are not validly signed by `cosignerKey` are ignored (and passed to onRejected).
 *
 * A pool of co-signer instances shares one status topic, so each instance is followed on its own and
 * the co-signer is 'online' while any instance is. `instanceId` names the newest instance online (or,
 * when none is, the one heard from last); `onlineInstances` lists them all. Without heartbeats (one
 * instance, embedded broker) an older instance than the newest seen is a replay or a dead process and
 * is ignored; with heartbeats, every instance that keeps beating counts, and one that stops is
 * offline after `missedBeats`.
 */
export async function watchPresence(
  transport: MqttTransport,
  cosignerKey: Uint8Array | string,
  onChange: (status: PresenceStatus) => void,
  options: {
    /** Missed heartbeats after which an 'online' co-signer counts as 'offline'. Default 3. */
    missedBeats?: number;
    /** Overrides the heartbeat period announced in the status frames. */
    heartbeatMs?: number;
    now?: () => number;
    onRejected?: (error: ChannelError) => void;
  } = {},
): Promise<PresenceWatch> {
  const pinned = parsePublicKey(cosignerKey);
  const now = options.now ?? Date.now;
  const missedBeats = options.missedBeats ?? 3;
  const instances = new Map<string, InstanceView>();
  let status: PresenceStatus = { state: 'unknown', reason: 'none' };
  let lastHeard: InstanceView | undefined;

  const keyOf = (instanceId: string, startedAt: number) => `${instanceId}@${startedAt}`;
  const newest = (): InstanceView | undefined => [...instances.values()].reduce<InstanceView | undefined>((best, view) => (!best || view.startedAt > best.startedAt ? view : best), undefined);

  const publish = () => {
    const online = [...instances.values()].filter((view) => view.state === 'online').sort((a, b) => b.startedAt - a.startedAt);
    const shown = online[0] ?? lastHeard;
    const next: PresenceStatus = shown
      ? {
          state: online.length > 0 ? 'online' : 'offline',
          reason: shown.reason,
          instanceId: shown.instanceId,
          startedAt: shown.startedAt,
          connection: shown.connection,
          issuedAt: shown.issuedAt,
          heartbeatMs: shown.heartbeatMs,
          seenAt: shown.seenAt,
          onlineInstances: online.map((view) => view.instanceId),
        }
      : { state: 'unknown', reason: 'none' };
    const changed =
      next.state !== status.state ||
      next.instanceId !== status.instanceId ||
      next.startedAt !== status.startedAt ||
      (next.onlineInstances ?? []).join() !== (status.onlineInstances ?? []).join();
    status = next;
    if (changed) onChange({ ...status, ...(status.onlineInstances ? { onlineInstances: [...status.onlineInstances] } : {}) });
  };

  const accepts = (frame: StatusFrame, known: InstanceView | undefined): boolean => {
    if (!known) {
      const latest = newest();
      // Without heartbeats nothing would ever end a replayed or dead older instance: only newer ones count.
      return !latest || frame.startedAt > latest.startedAt || frame.heartbeatMs > 0;
    }
    if (frame.connection !== known.connection) return frame.connection > known.connection;
    if (known.ended) return false;
    return frame.state === 'offline' || frame.issuedAt >= known.issuedAt;
  };

  // Beats missed while this watcher's own connection is down say nothing about the co-signer: the
  // silence is ours. The count of missed beats starts again once we are back online.
  const listenForBeats = (view: InstanceView) => {
    clearTimeout(view.silenceTimer);
    view.silenceTimer = undefined;
    if (view.state !== 'online' || view.heartbeatMs === 0 || transport.state !== 'online') return;
    view.silenceTimer = setTimeout(() => {
      view.state = 'offline';
      view.reason = 'heartbeat-missed';
      lastHeard = view;
      publish();
    }, view.heartbeatMs * missedBeats);
  };
  const stopFollowingTransport = transport.onStateChange(() => {
    for (const view of instances.values()) listenForBeats(view);
  });

  const onStatus = (_topic: string, payload: Uint8Array) => {
    let frame: StatusFrame;
    try {
      frame = verifyStatus(payload, pinned);
    } catch (error) {
      options.onRejected?.(error as ChannelError);
      return;
    }
    const key = keyOf(frame.instance, frame.startedAt);
    const known = instances.get(key);
    if (!accepts(frame, known)) return;
    clearTimeout(known?.silenceTimer);
    const heartbeatMs = options.heartbeatMs ?? frame.heartbeatMs;
    const view: InstanceView = {
      instanceId: frame.instance,
      startedAt: frame.startedAt,
      state: frame.state,
      reason: 'status',
      connection: frame.connection,
      issuedAt: frame.issuedAt,
      heartbeatMs,
      seenAt: now(),
      ended: frame.state === 'offline',
    };
    instances.set(key, view);
    listenForBeats(view);
    // Without heartbeats an instance is followed only until a newer one appears (a restart).
    if (heartbeatMs === 0) {
      for (const [otherKey, other] of instances) if (other.startedAt < view.startedAt && other.heartbeatMs === 0) instances.delete(otherKey);
    }
    lastHeard = view;
    publish();
  };

  const unsubscribe = await transport.subscribe(COSIGNER_STATUS_TOPIC, onStatus);
  return {
    get status() {
      return { ...status };
    },
    async stop() {
      stopFollowingTransport();
      for (const view of instances.values()) clearTimeout(view.silenceTimer);
      await unsubscribe();
    },
  };
}
