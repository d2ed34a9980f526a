import { describe, expect, it } from 'vitest';
import { bytesToHex, randomBytes } from '../mpc/bytes.js';
import { ChannelError, isChannelError, type ChannelErrorCode } from './errors.js';
import { decodeFrame } from './frame.js';
import { Identity } from './identity.js';
import { ChannelSession, type SessionState } from './session.js';

const device = Identity.generate();
const cosigner = Identity.generate();
const walletId = bytesToHex(randomBytes(16));
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function clock(start = 1_800_000_000_000) {
  let time = start;
  const now = () => time;
  return { now, set: (value: number) => (time = value), advance: (ms: number) => (time += ms) };
}

async function handshake(options: { expiresIn?: number; time?: ReturnType<typeof clock>; wallet?: string } = {}) {
  const time = options.time ?? clock();
  const expiresAt = time.now() + (options.expiresIn ?? 60_000);
  const { session: initiator, hello } = ChannelSession.initiate({
    identity: device,
    peerIdentity: cosigner.publicKey,
    walletId: options.wallet ?? walletId,
    localRole: 'device',
    peerRole: 'cosigner',
    expiresAt,
    now: time.now,
  });
  const { session: responder, accept } = ChannelSession.respond({
    identity: cosigner,
    peerIdentity: device.publicKey,
    hello,
    localRole: 'cosigner',
    now: time.now,
  });
  expect(await initiator.receive(accept)).toEqual({ kind: 'established' });
  return { initiator, responder, hello, accept, time, expiresAt };
}

async function rejection(promise: Promise<unknown>): Promise<ChannelError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ChannelError) return error;
    throw error;
  }
  throw new Error('expected a ChannelError, but it resolved');
}

function syncRejection(run: () => unknown): ChannelError {
  try {
    run();
  } catch (error) {
    if (error instanceof ChannelError) return error;
    throw error;
  }
  throw new Error('expected a ChannelError');
}

async function expectDead(session: ChannelSession): Promise<void> {
  expect(session.dead).toBe(true);
  expect((await rejection(session.seal(1, encoder.encode('x')))).code).toBe('CHANNEL_SESSION_DEAD');
  expect((await rejection(session.receive(new Uint8Array(3)))).code).toBe('CHANNEL_SESSION_DEAD');
}

/** A fresh copy of a session, through export and JSON, so that each tampering case starts clean. */
function copy(session: ChannelSession, identity: Identity, now: () => number): ChannelSession {
  return ChannelSession.import(JSON.parse(JSON.stringify(session.export())) as SessionState, { identity, now });
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
}

describe('ChannelSession handshake', () => {
  it('establishes a session and carries messages both ways, in order', async () => {
    const { initiator, responder } = await handshake();
    expect(initiator.established && responder.established).toBe(true);
    expect(initiator.sessionId).toBe(responder.sessionId);
    for (let round = 1; round <= 3; round++) {
      const request = await initiator.seal(round, encoder.encode(`request ${round}`));
      const received = await responder.receive(request);
      expect(received).toMatchObject({ kind: 'message', round, seq: round - 1 });
      if (received.kind !== 'message') throw new Error('kind');
      expect(decoder.decode(received.body)).toBe(`request ${round}`);
      const reply = await responder.seal(round, encoder.encode(`reply ${round}`));
      const answer = await initiator.receive(reply);
      if (answer.kind !== 'message') throw new Error('kind');
      expect(decoder.decode(answer.body)).toBe(`reply ${round}`);
    }
    expect(initiator.nextSendSeq).toBe(3);
    expect(initiator.nextReceiveSeq).toBe(3);
  });

  it('keeps the plaintext out of every frame and uses different keys per direction', async () => {
    const { initiator, responder } = await handshake();
    const marker = 'PLAINTEXT-MARKER-0123456789';
    const frame = await initiator.seal(1, encoder.encode(marker));
    expect(bytesToHex(frame)).not.toContain(bytesToHex(encoder.encode(marker)));
    // A frame reflected back to its own sender is refused: it is from the wrong role.
    const reflected = await rejection(initiator.receive(frame));
    expect(reflected.code).toBe('CHANNEL_WRONG_PEER');
    expect(responder.established).toBe(true);
  });

  it('fails the handshake when the responder pinned another identity for the wallet', () => {
    const { hello } = ChannelSession.initiate({ identity: device, peerIdentity: cosigner.publicKey, walletId, localRole: 'device', peerRole: 'cosigner', expiresAt: Date.now() + 60_000 });
    const error = syncRejection(() =>
      ChannelSession.respond({ identity: cosigner, peerIdentity: Identity.generate().publicKey, hello, localRole: 'cosigner' }),
    );
    expect(error.code).toBe('CHANNEL_WRONG_PEER');
  });

  it('fails the handshake when the initiator pinned another co-signer identity', async () => {
    const impostor = Identity.generate();
    const { session: initiator, hello } = ChannelSession.initiate({ identity: device, peerIdentity: cosigner.publicKey, walletId, localRole: 'device', peerRole: 'cosigner', expiresAt: Date.now() + 60_000 });
    const { accept } = ChannelSession.respond({ identity: impostor, peerIdentity: device.publicKey, hello, localRole: 'cosigner' });
    expect((await rejection(initiator.receive(accept))).code).toBe('CHANNEL_WRONG_PEER');
    await expectDead(initiator);
  });

  it('refuses a hello that names the pinned key but is signed by someone else', () => {
    const attacker = Identity.generate();
    const { hello } = ChannelSession.initiate({ identity: attacker, peerIdentity: cosigner.publicKey, walletId, localRole: 'device', peerRole: 'cosigner', expiresAt: Date.now() + 60_000 });
    const forged = hello.slice();
    forged.set(device.publicKey, 2 + 16 + 16 + 2);
    const error = syncRejection(() => ChannelSession.respond({ identity: cosigner, peerIdentity: device.publicKey, hello: forged, localRole: 'cosigner' }));
    expect(error.code).toBe('CHANNEL_BAD_SIGNATURE');
  });

  it('refuses a hello addressed to another role, an expired hello and one that expires too far ahead', () => {
    const time = clock();
    const make = (expiresAt: number) =>
      ChannelSession.initiate({ identity: device, peerIdentity: cosigner.publicKey, walletId, localRole: 'device', peerRole: 'cosigner', expiresAt, now: time.now }).hello;
    const hello = make(time.now() + 1000);
    expect(syncRejection(() => ChannelSession.respond({ identity: cosigner, peerIdentity: device.publicKey, hello, localRole: 'device', now: time.now })).code).toBe('CHANNEL_WRONG_PEER');
    time.advance(1001);
    expect(syncRejection(() => ChannelSession.respond({ identity: cosigner, peerIdentity: device.publicKey, hello, localRole: 'cosigner', now: time.now })).code).toBe('CHANNEL_EXPIRED');
    const far = make(time.now() + 48 * 3600_000);
    expect(syncRejection(() => ChannelSession.respond({ identity: cosigner, peerIdentity: device.publicKey, hello: far, localRole: 'cosigner', now: time.now })).code).toBe('CHANNEL_BAD_FRAME');
  });

  it('turns every single-bit change of a hello into a typed refusal', () => {
    const { hello } = ChannelSession.initiate({ identity: device, peerIdentity: cosigner.publicKey, walletId, localRole: 'device', peerRole: 'cosigner', expiresAt: Date.now() + 60_000 });
    const codes = new Set<ChannelErrorCode>();
    for (let bit = 0; bit < hello.length * 8; bit++) {
      const error = syncRejection(() => ChannelSession.respond({ identity: cosigner, peerIdentity: device.publicKey, hello: flipBit(hello, bit), localRole: 'cosigner' }));
      codes.add(error.code);
    }
    expect([...codes].sort()).toEqual(expect.arrayContaining(['CHANNEL_BAD_FRAME', 'CHANNEL_BAD_SIGNATURE', 'CHANNEL_WRONG_PEER']));
  });

  it('turns every single-bit change of an accept into a typed error and a dead session', async () => {
    const { session, hello } = ChannelSession.initiate({ identity: device, peerIdentity: cosigner.publicKey, walletId, localRole: 'device', peerRole: 'cosigner', expiresAt: Date.now() + 60_000 });
    const { accept } = ChannelSession.respond({ identity: cosigner, peerIdentity: device.publicKey, hello, localRole: 'cosigner' });
    for (let bit = 0; bit < accept.length * 8; bit++) {
      const initiator = copy(session, device, Date.now);
      const error = await rejection(initiator.receive(flipBit(accept, bit)));
      expect(error.code).not.toBe('CHANNEL_SESSION_DEAD');
      expect(initiator.dead).toBe(true);
    }
    const initiator = copy(session, device, Date.now);
    expect(await initiator.receive(accept)).toEqual({ kind: 'established' });
  });
});

describe('ChannelSession data frames', () => {
  it('turns every single-bit change of a data frame into a typed error and a dead session', async () => {
    const { initiator, responder, time } = await handshake();
    const frame = await initiator.seal(2, encoder.encode('flip me'));
    const codes = new Set<ChannelErrorCode>();
    for (let bit = 0; bit < frame.length * 8; bit++) {
      const receiver = copy(responder, cosigner, time.now);
      const error = await rejection(receiver.receive(flipBit(frame, bit)));
      codes.add(error.code);
      await expectDead(receiver);
    }
    expect([...codes].sort()).toEqual(['CHANNEL_BAD_FRAME', 'CHANNEL_TAMPERED', 'CHANNEL_WRONG_SESSION']);
    const intact = await copy(responder, cosigner, time.now).receive(frame);
    expect(intact.kind).toBe('message');
  });

  it('drops an exact duplicate silently and goes on', async () => {
    const { initiator, responder } = await handshake();
    const first = await initiator.seal(1, encoder.encode('one'));
    expect((await responder.receive(first)).kind).toBe('message');
    expect(await responder.receive(first)).toEqual({ kind: 'duplicate' });
    expect(await responder.receive(first)).toEqual({ kind: 'duplicate' });
    const second = await initiator.seal(2, encoder.encode('two'));
    expect(await responder.receive(second)).toMatchObject({ kind: 'message', round: 2, seq: 1 });
    expect(responder.dead).toBe(false);
  });

  it('drops a redelivered hello (responder) and accept (initiator) silently', async () => {
    const { initiator, responder, hello, accept } = await handshake();
    expect(await responder.receive(hello)).toEqual({ kind: 'duplicate' });
    expect(await initiator.receive(accept)).toEqual({ kind: 'duplicate' });
  });

  it('raises CHANNEL_REPLAY for an old sequence number carrying different bytes', async () => {
    const { initiator, responder, time } = await handshake();
    const before = initiator.export();
    const original = await initiator.seal(1, encoder.encode('pay 1 ETH to Alice'));
    expect((await responder.receive(original)).kind).toBe('message');
    // The sender is rolled back to an older export and reuses seq 0 for another message.
    const rolledBack = ChannelSession.import(before, { identity: device, now: time.now });
    const other = await rolledBack.seal(1, encoder.encode('pay 9 ETH to Mallory'));
    const [a, b] = [decodeFrame(original), decodeFrame(other)];
    if (a.type !== 'data' || b.type !== 'data') throw new Error('type');
    expect(a.seq).toBe(b.seq);
    expect(bytesToHex(a.nonce)).not.toBe(bytesToHex(b.nonce));
    expect((await rejection(responder.receive(other))).code).toBe('CHANNEL_REPLAY');
    await expectDead(responder);
  });

  it('re-sending the same message after a rollback produces the identical frame, which is a duplicate', async () => {
    const { initiator, responder, time } = await handshake();
    const before = initiator.export();
    const original = await initiator.seal(1, encoder.encode('same'));
    await responder.receive(original);
    const again = await ChannelSession.import(before, { identity: device, now: time.now }).seal(1, encoder.encode('same'));
    expect(again).toEqual(original);
    expect(await responder.receive(again)).toEqual({ kind: 'duplicate' });
  });

  it('refuses a frame that skips a sequence number', async () => {
    const { initiator, responder } = await handshake();
    await initiator.seal(1, encoder.encode('lost'));
    const second = await initiator.seal(2, encoder.encode('second'));
    expect((await rejection(responder.receive(second))).code).toBe('CHANNEL_OUT_OF_ORDER');
    await expectDead(responder);
  });

  it('refuses a frame from another session or another wallet', async () => {
    const one = await handshake();
    const two = await handshake({ time: one.time });
    const foreign = await two.initiator.seal(1, encoder.encode('other session'));
    expect((await rejection(one.responder.receive(foreign))).code).toBe('CHANNEL_WRONG_SESSION');
    await expectDead(one.responder);

    const three = await handshake({ time: one.time });
    const otherWallet = await handshake({ time: one.time, wallet: bytesToHex(randomBytes(16)) });
    const crossWallet = await otherWallet.initiator.seal(1, encoder.encode('other wallet'));
    expect((await rejection(three.responder.receive(crossWallet))).code).toBe('CHANNEL_WRONG_SESSION');
  });

  it('refuses a frame whose session id is right but whose wallet is not', async () => {
    const { initiator, responder } = await handshake();
    const frame = await initiator.seal(1, encoder.encode('x'));
    const moved = frame.slice();
    moved.set(randomBytes(16), 2);
    expect((await rejection(responder.receive(moved))).code).toBe('CHANNEL_WRONG_SESSION');
  });

  it('refuses expired frames, and refuses to seal after expiry', async () => {
    const { initiator, responder, time, expiresAt } = await handshake({ expiresIn: 10_000 });
    const frame = await initiator.seal(1, encoder.encode('late'));
    time.set(expiresAt + 1);
    expect((await rejection(responder.receive(frame))).code).toBe('CHANNEL_EXPIRED');
    await expectDead(responder);
    expect((await rejection(initiator.seal(2, encoder.encode('too late')))).code).toBe('CHANNEL_EXPIRED');
    await expectDead(initiator);
  });

  it('honours a message expiry shorter than the session expiry', async () => {
    const { initiator, responder, time } = await handshake({ expiresIn: 60_000 });
    const frame = await initiator.seal(1, encoder.encode('short-lived'), { expiresAt: time.now() + 1000 });
    time.advance(1001);
    expect((await rejection(responder.receive(frame))).code).toBe('CHANNEL_EXPIRED');
    const error = await rejection(initiator.seal(1, encoder.encode('x'), { expiresAt: time.now() + 120_000 }));
    expect(error.code).toBe('CHANNEL_INVALID_ARGUMENT');
    expect(initiator.dead).toBe(false);
  });

  it('refuses to seal before the accept, without killing the session', async () => {
    const { session } = ChannelSession.initiate({ identity: device, peerIdentity: cosigner.publicKey, walletId, localRole: 'device', peerRole: 'cosigner', expiresAt: Date.now() + 60_000 });
    expect((await rejection(session.seal(1, encoder.encode('early')))).code).toBe('CHANNEL_NOT_READY');
    expect(session.dead).toBe(false);
  });

  it('continues after export and import mid-conversation, with the right seqs and duplicate detection', async () => {
    const { initiator, responder, time } = await handshake();
    const first = await initiator.seal(1, encoder.encode('round 1'));
    await responder.receive(first);
    await initiator.receive(await responder.seal(1, encoder.encode('reply 1')));

    const initiatorState = JSON.parse(JSON.stringify(initiator.export())) as SessionState;
    const responderState = JSON.parse(JSON.stringify(responder.export())) as SessionState;
    expect(initiatorState.ephemeralSecret).toBeNull();
    const restoredInitiator = ChannelSession.import(initiatorState, { identity: Identity.fromSecretKey(device.exportSecretKey()), now: time.now });
    const restoredResponder = ChannelSession.import(responderState, { identity: Identity.fromSecretKey(cosigner.exportSecretKey()), now: time.now });

    expect(await restoredResponder.receive(first)).toEqual({ kind: 'duplicate' });
    const second = await restoredInitiator.seal(2, encoder.encode('round 2'));
    expect(await restoredResponder.receive(second)).toMatchObject({ kind: 'message', round: 2, seq: 1 });
    const reply = await restoredResponder.seal(2, encoder.encode('reply 2'));
    const answer = await restoredInitiator.receive(reply);
    if (answer.kind !== 'message') throw new Error('kind');
    expect(decoder.decode(answer.body)).toBe('reply 2');
    expect(answer.seq).toBe(1);
  });

  it('can be exported while waiting for the accept and finish the handshake after import', async () => {
    const time = clock();
    const { session, hello } = ChannelSession.initiate({ identity: device, peerIdentity: cosigner.publicKey, walletId, localRole: 'device', peerRole: 'cosigner', expiresAt: time.now() + 60_000, now: time.now });
    const state = JSON.parse(JSON.stringify(session.export())) as SessionState;
    expect(state.phase).toBe('awaiting-accept');
    const { session: responder, accept } = ChannelSession.respond({ identity: cosigner, peerIdentity: device.publicKey, hello, localRole: 'cosigner', now: time.now });
    const restored = ChannelSession.import(state, { identity: device, now: time.now });
    expect(await restored.receive(accept)).toEqual({ kind: 'established' });
    expect(restored.export().ephemeralSecret).toBeNull();
    expect((await responder.receive(await restored.seal(1, encoder.encode('hi')))).kind).toBe('message');
  });

  it('stays dead through export and import, and refuses imports that do not fit', async () => {
    const { initiator, responder, time } = await handshake();
    const frame = await initiator.seal(1, encoder.encode('x'));
    await rejection(responder.receive(flipBit(frame, frame.length * 8 - 1)));
    const dead = ChannelSession.import(responder.export(), { identity: cosigner, now: time.now });
    await expectDead(dead);
    expect(dead.export().keys).toBeNull();

    const state = initiator.export();
    expect(syncRejection(() => ChannelSession.import(state, { identity: cosigner })).code).toBe('CHANNEL_INVALID_ARGUMENT');
    expect(syncRejection(() => ChannelSession.import({ ...state, nextReceiveSeq: 5 }, { identity: device })).code).toBe('CHANNEL_INVALID_ARGUMENT');
    expect(syncRejection(() => ChannelSession.import({ ...state, keys: null }, { identity: device })).code).toBe('CHANNEL_INVALID_ARGUMENT');
  });

  it('closing a session overwrites its keys and ends it', async () => {
    const { initiator } = await handshake();
    initiator.close();
    await expectDead(initiator);
    expect(initiator.export().keys).toBeNull();
    expect(isChannelError(initiator.error, 'CHANNEL_CLOSED')).toBe(true);
  });
});
