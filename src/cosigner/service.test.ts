/**
 * The co-signer service end to end on its embedded broker: real TLS, real Aedes, real SQLite,
 * devices through the client library. Encryption is checked from the broker's own view, and
 * tampering, replay and an offline co-signer are exercised on the wire.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recoverMessageAddress, recoverTransactionAddress, recoverTypedDataAddress, parseEther } from 'viem';
import type { AedesPublishPacket } from 'aedes';
import { TandemDevice } from '../client/tandem-device.js';
import { ChannelError } from '../channel/errors.js';
import { presignWithCosigner, refreshWithCosigner } from '../channel/device-protocol.js';
import { CosignerRefusedError, ProtocolConversation } from '../channel/protocol-conversation.js';
import type { DeviceFileContents } from '../client/device-file.js';
import { exportKeyShare, importKeyShare } from '../mpc/keyshare.js';
import type { ProtocolMessage } from '../mpc/message.js';
import { startCosigner, type RunningCosigner } from './service.js';
import { rawDevice } from './testing/raw-device.js';
import { mailTypedData } from '../client/testing/mail-typed-data.js';

const MASTER_KEY = '42'.repeat(32);
const typedData = mailTypedData({ chainId: 31337, contents: 'typed-data-plaintext-marker' });

let dir: string;
let deviceCount = 0;
let cosigner: RunningCosigner;
const seen: { topic: string; payload: Buffer }[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tandem-service-'));
  cosigner = await startCosigner({ dataDir: join(dir, 'cosigner'), port: 0, env: { TANDEM_MASTER_KEY: MASTER_KEY }, log: () => undefined });
  // The broker's own view: everything published through it, with full rights.
  cosigner.embedded!.broker.on('publish', (packet: AedesPublishPacket) => {
    if (packet.topic.startsWith('tandem/')) seen.push({ topic: packet.topic, payload: Buffer.from(packet.payload as Buffer) });
  });
});

afterAll(async () => {
  await cosigner?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function newDevice(kind: '2of2' | '2of3', requestTimeoutMs?: number): Promise<TandemDevice> {
  const file = join(dir, `${kind}-${++deviceCount}.json`);
  const device = await TandemDevice.enroll({ cosignerUrl: cosigner.url, caPem: cosigner.certPem, file, kind }, requestTimeoutMs ? { requestTimeoutMs } : {});
  await device.createKey();
  return device;
}

describe.each(['2of2', '2of3'] as const)('a %s wallet through the co-signer', (kind) => {
  let device: TandemDevice;
  beforeAll(async () => {
    device = await newDevice(kind);
  });
  afterAll(async () => {
    await device?.close();
  });

  it('signs an EIP-191 message that recovers to the wallet address', async () => {
    const message = `message-plaintext-marker ${kind}`;
    const signature = await device.signMessage(message);
    expect(await recoverMessageAddress({ message, signature })).toBe(device.address);
  });

  it('signs EIP-712 typed data that recovers to the wallet address', async () => {
    const signature = await device.signTypedData(typedData);
    expect(await recoverTypedDataAddress({ ...typedData, signature })).toBe(device.address);
  });

  it('refuses typed data whose domain carries fields its EIP712Domain type does not sign', async () => {
    const sneaky = { ...typedData, types: { ...typedData.types, EIP712Domain: [{ name: 'name', type: 'string' }] } };
    const refused = await device.signTypedData(sneaky as never).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(CosignerRefusedError);
    expect((refused as CosignerRefusedError).code).toBe('BAD_REQUEST');
    expect((refused as CosignerRefusedError).message).toMatch(/chainId, verifyingContract|version/);
  });

  it('signs an EIP-1559 transaction that recovers to the wallet address, with a pooled presignature', async () => {
    await device.presign(2);
    expect(device.presignatureCount).toBe(2);
    const serialized = await device.signTransaction({
      type: 'eip1559',
      chainId: 31337,
      nonce: 0,
      to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      value: parseEther('0.01'),
      gas: 21000n,
      maxFeePerGas: 2_000_000_000n,
      maxPriorityFeePerGas: 1_000_000_000n,
    });
    expect(device.presignatureCount).toBe(1);
    expect(await recoverTransactionAddress({ serializedTransaction: serialized as `0x02${string}` })).toBe(device.address);
  });
});

describe('what the broker sees', () => {
  it('carries no plaintext of any protocol message', async () => {
    const device = await newDevice('2of2');
    const message = 'broker-must-not-see-this-marker';
    await device.signMessage(message);
    await device.signTypedData(typedData);
    await device.close();
    const everything = Buffer.concat(seen.map((entry) => entry.payload));
    expect(seen.length).toBeGreaterThan(10);
    for (const marker of [message, 'typed-data-plaintext-marker', 'Ether Mail', '"type"', 'keygen', 'presign', device.address.slice(2).toLowerCase()]) {
      expect(everything.includes(Buffer.from(marker))).toBe(false);
    }
  });
});

describe('tampering and replay on the wire', () => {
  it('a tampered frame kills the session; the request fails with a typed error and the next one starts afresh', async () => {
    const device = await newDevice('2of2', 3_000);
    await device.signMessage('before tampering');
    const toCosigner = seen.filter((entry) => entry.topic.endsWith('/to/cosigner')).at(-1)!;
    const tampered = Buffer.from(toCosigner.payload);
    tampered[tampered.length - 5]! ^= 0x01;
    await new Promise<void>((resolve, reject) =>
      cosigner.embedded!.broker.publish({ cmd: 'publish', topic: toCosigner.topic, payload: tampered, qos: 1, retain: false, dup: false }, (error) => (error ? reject(error) : resolve())),
    );
    const failed = await device.signMessage('after tampering').catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(ChannelError);
    expect((failed as ChannelError).code).toBe('CHANNEL_EXPIRED');
    const message = 'a new conversation';
    expect(await recoverMessageAddress({ message, signature: await device.signMessage(message) })).toBe(device.address);
    await device.close();
  });

  it('replaying every frame of a finished conversation signs nothing again', async () => {
    const device = await newDevice('2of2');
    const first = seen.length;
    await device.signMessage('replay me');
    await device.close();
    const recorded = seen.slice(first).filter((entry) => entry.topic.endsWith('/to/cosigner'));
    const signsBefore = (await cosigner.store.audit.list({ kind: 'sign', limit: 1000 })).length;
    for (const entry of recorded) {
      await new Promise<void>((resolve) =>
        cosigner.embedded!.broker.publish({ cmd: 'publish', topic: entry.topic, payload: entry.payload, qos: 1, retain: false, dup: false }, () => resolve()),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await cosigner.store.audit.list({ kind: 'sign', limit: 1000 })).length).toBe(signsBefore);
  });
});

describe('an offline co-signer', () => {
  it('serves a request made while it was stopped once it is back, before the request expires', async () => {
    const device = await newDevice('2of2', 20_000);
    await cosigner.pauseWorker();
    const pending = device.signMessage('queued while offline');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await cosigner.resumeWorker();
    expect(await recoverMessageAddress({ message: 'queued while offline', signature: await pending })).toBe(device.address);
    await device.close();
  });

  it('after the expiry the request fails clearly, and its presignature is never used', async () => {
    const device = await newDevice('2of2', 1_500);
    await device.presign(1);
    await cosigner.pauseWorker();
    const signsBefore = (await cosigner.store.audit.list({ kind: 'sign', limit: 1000 })).length;
    const failed = await device.signMessage('too late').catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(ChannelError);
    expect((failed as ChannelError).code).toBe('CHANNEL_EXPIRED');
    // The device forgot its presignature before its online message left.
    expect(device.presignatureCount).toBe(0);
    await cosigner.resumeWorker();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // The co-signer got the expired request after it came back and refused it: nothing was signed.
    expect((await cosigner.store.audit.list({ kind: 'sign', limit: 1000 })).length).toBe(signsBefore);
    await device.close();
  });
});

describe('a failed check while presigning', () => {
  it('locks the wallet: it refuses to sign until a refresh, which keeps the address', async () => {
    const file = join(dir, `locked-${++deviceCount}.json`);
    const device = await TandemDevice.enroll({ cosignerUrl: cosigner.url, caPem: cosigner.certPem, file, kind: '2of2' });
    const { address } = await device.createKey();
    await device.close();

    // A device that corrupts its own round-2 MPC message, inside a correctly encrypted channel.
    const contents = JSON.parse(readFileSync(file, 'utf8')) as DeviceFileContents;
    const { channel, transport } = await rawDevice(contents);
    class Corrupting extends ProtocolConversation {
      override send(header: Parameters<ProtocolConversation['send']>[0], messages: ProtocolMessage[] = []): Promise<void> {
        const corrupted = messages.map((message) => {
          if (message.round !== 2) return message;
          const payload = message.payload.slice();
          payload[payload.length - 40]! ^= 0x01;
          return { ...message, payload };
        });
        return super.send(header, corrupted);
      }
    }
    const conversation = await channel.open({ walletId: contents.walletId, peerRole: 'cosigner', peerIdentity: contents.cosignerIdentity, expiresAt: Date.now() + 30_000 });
    const failed = await presignWithCosigner(new Corrupting(conversation), importKeyShare(contents.share!)).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(CosignerRefusedError);
    expect((failed as CosignerRefusedError).code).toBe('PROTOCOL_ABORT');
    await channel.close();
    await transport.close();
    const locked = (await cosigner.store.getWallet(contents.walletId))!;
    expect(locked.status).toBe('locked');
    expect(locked.lockedReason).toMatch(/round 2: .*check-failed/);
    const locks = await cosigner.store.audit.list({ walletId: contents.walletId, kind: 'lock' });
    expect(locks.length).toBe(1);

    const reopened = TandemDevice.open(file);
    const refused = await reopened.signMessage('while locked').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(CosignerRefusedError);
    expect((refused as CosignerRefusedError).code).toBe('WALLET_LOCKED');

    await reopened.refresh();
    expect((await cosigner.store.getWallet(contents.walletId))!.status).toBe('active');
    const message = 'after the refresh';
    expect(await recoverMessageAddress({ message, signature: await reopened.signMessage(message) })).toBe(address);
    await reopened.close();
  });
});


describe('a refresh whose confirmation never reaches the device', () => {
  it('leaves the new share pending on the device, which takes over when the co-signer reports the new generation', async () => {
    const file = join(dir, `refresh-${++deviceCount}.json`);
    const device = await TandemDevice.enroll({ cosignerUrl: cosigner.url, caPem: cosigner.certPem, file, kind: '2of2' });
    const { address } = await device.createKey();
    await device.close();

    const contents = JSON.parse(readFileSync(file, 'utf8')) as DeviceFileContents;
    const { channel, transport } = await rawDevice(contents);
    class LosingConfirmation extends ProtocolConversation {
      override async receive<H extends Parameters<ProtocolConversation['send']>[0]>(allowed: readonly H['type'][]) {
        const received = await super.receive<H>(allowed);
        if (received.header.type === 'reshare-done') throw new Error('confirmation lost');
        return received;
      }
    }
    const conversation = await channel.open({ walletId: contents.walletId, peerRole: 'cosigner', peerIdentity: contents.cosignerIdentity, expiresAt: Date.now() + 30_000 });
    const saved: { pendingShare?: string } = {};
    const lost = await refreshWithCosigner(new LosingConfirmation(conversation), { device: importKeyShare(contents.share!) }, async (pending) => {
      saved.pendingShare = exportKeyShare(pending.device);
    }).catch((error: unknown) => error);
    expect((lost as Error).message).toBe('confirmation lost');
    await channel.close();
    await transport.close();
    expect((await cosigner.store.getWallet(contents.walletId))!.generation).toBe(1);
    // What TandemDevice.refresh saves before it waits: the file now holds generation 0 and the pending 1.
    writeFileSync(file, JSON.stringify({ ...contents, pendingShare: saved.pendingShare }), { mode: 0o600 });

    const reopened = TandemDevice.open(file);
    const message = 'after a lost confirmation';
    expect(await recoverMessageAddress({ message, signature: await reopened.signMessage(message) })).toBe(address);
    await reopened.close();
    const after = JSON.parse(readFileSync(file, 'utf8')) as DeviceFileContents;
    expect(after.pendingShare).toBeUndefined();
    expect(importKeyShare(after.share!).generation).toBe(1);
  });
});
