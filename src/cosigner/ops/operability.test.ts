/**
 * Operability end to end: a real co-signer (embedded broker, JSON logs, metrics listener) and a real
 * TandemDevice. Health says ok, degraded and draining; /metrics parses and its counters move with
 * real signatures, refusals and an approval; the JSON logs of all that hold no secret; a drain lets
 * a signature in progress finish and refuses the next one.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recoverTransactionAddress, type TransactionSerializable } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApproverSession, enrollApprover, type ApproverRecord } from '../../channel/approver-session.js';
import type { PostJson } from '../../channel/device-session.js';
import { CosignerRefusedError } from '../../channel/protocol-conversation.js';
import { postJson } from '../../client/http.js';
import { ChannelError } from '../../channel/errors.js';
import { TandemDevice } from '../../client/tandem-device.js';
import { importKeyShare } from '../../mpc/keyshare.js';
import { startCosigner, type RunningCosigner } from '../service.js';
import { createLog } from './log.js';

const MASTER_KEY_HEX = '5a'.repeat(32);
const RECIPIENT = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

let dir: string;
let cosigner: RunningCosigner;
let device: TandemDevice;
let deviceFile: string;
let nonce = 0;
const logLines: string[] = [];

/** One sample of the exposition text: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A small parser of the Prometheus text format: enough to check every line is well formed. */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.split('\n').slice(0, -1)) {
    if (line.startsWith('# HELP ')) {
      expect(line).toMatch(/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+$/);
      continue;
    }
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? (-?[0-9.e+-]+|\+Inf|NaN)$/.exec(line);
    expect(sample, `not an exposition line: ${line}`).not.toBeNull();
    const labels: Record<string, string> = {};
    for (const match of (sample![2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[match[1]!] = match[2]!;
    samples.push({ name: sample![1]!, labels, value: sample![3] === '+Inf' ? Infinity : Number(sample![3]) });
  }
  return { samples, types };
}

async function scrape(): Promise<{ value(name: string, labels?: Record<string, string>): number | undefined; samples: Sample[]; types: Map<string, string> }> {
  const response = await fetch(`${cosigner.metricsUrl}/metrics`);
  expect(response.status).toBe(200);
  const parsed = parseExposition(await response.text());
  return {
    ...parsed,
    value: (name, labels = {}) =>
      parsed.samples.find((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value) && Object.keys(sample.labels).length === Object.keys(labels).length)?.value,
  };
}

async function health(): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${cosigner.metricsUrl}/v1/health`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** The same health answer on the device-facing HTTPS port. */
function httpsHealth(): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(`${cosigner.url}/v1/health`, { ca: cosigner.certPem }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode!, body: JSON.parse(text) as Record<string, unknown> }));
    });
    request.on('error', reject);
    request.end();
  });
}

function transaction(value: bigint): TransactionSerializable {
  return { type: 'eip1559', chainId: 31337, to: RECIPIENT, value, nonce: nonce++, gas: 21_000n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1_000_000n };
}

async function signedBy(signing: Promise<string>): Promise<string> {
  return recoverTransactionAddress({ serializedTransaction: (await signing) as Parameters<typeof recoverTransactionAddress>[0]['serializedTransaction'] });
}

async function refusal(work: Promise<unknown>): Promise<CosignerRefusedError> {
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(CosignerRefusedError);
  return error as CosignerRefusedError;
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tandem-operability-'));
  cosigner = await startCosigner({
    dataDir: join(dir, 'cosigner'),
    port: 0,
    metricsPort: 0,
    env: { TANDEM_MASTER_KEY: MASTER_KEY_HEX },
    log: createLog({ format: 'json', write: (line) => logLines.push(line) }),
  });
  deviceFile = join(dir, 'device.json');
  device = await TandemDevice.enroll({ cosignerUrl: cosigner.url, caPem: cosigner.certPem, file: deviceFile, kind: '2of2' });
  await device.createKey();
}, 60_000);

afterAll(async () => {
  await device?.close();
  await cosigner?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('GET /v1/health', () => {
  it('is ok (200) with the instance, times, broker, store and version, on the metrics port and the HTTPS port', async () => {
    for (const answer of [await health(), await httpsHealth()]) {
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ status: 'ok', ok: true, broker: 'connected', store: 'ok', inFlight: 0 });
      expect(answer.body.instance).toMatch(/^[0-9a-f]{16}$/);
      expect(new Date(answer.body.startedAt as string).toISOString()).toBe(answer.body.startedAt);
      expect(answer.body.uptimeS).toBeGreaterThanOrEqual(0);
      expect(answer.body.version).toMatch(/^\d+\.\d+\.\d+/);
      // Nothing more than these: no keys, no paths, no tokens.
      expect(Object.keys(answer.body).sort()).toEqual(['broker', 'inFlight', 'instance', 'ok', 'startedAt', 'status', 'store', 'uptimeS', 'version']);
    }
  });

  it('is degraded (503) while the store fails or the broker connection is down, and ok again after', async () => {
    const store = cosigner.store as unknown as { getWallet: (walletId: string) => unknown };
    const original = store.getWallet;
    store.getWallet = () => {
      throw new Error('disk I/O error');
    };
    try {
      await expect(health()).resolves.toMatchObject({ status: 503, body: { status: 'degraded', ok: false, store: 'error', broker: 'connected' } });
      await expect(httpsHealth()).resolves.toMatchObject({ status: 503, body: { status: 'degraded', store: 'error' } });
    } finally {
      delete (store as { getWallet?: unknown }).getWallet;
      expect(store.getWallet).toBe(original);
    }
    await cosigner.pauseWorker();
    try {
      await expect(health()).resolves.toMatchObject({ status: 503, body: { status: 'degraded', store: 'ok', broker: 'paused' } });
    } finally {
      await cosigner.resumeWorker();
    }
    await expect(health()).resolves.toMatchObject({ status: 200, body: { status: 'ok' } });
  });
});

describe('GET /metrics', () => {
  it('parses, and its counters move with real signatures, refusals and an approved request', async () => {
    const before = await scrape();
    expect(before.types.get('tandem_cosigner_signatures_total')).toBe('counter');
    expect(before.types.get('tandem_cosigner_request_duration_seconds')).toBe('histogram');
    expect(before.types.get('process_cpu_seconds_total')).toBe('counter');
    expect(before.value('process_resident_memory_bytes')).toBeGreaterThan(10_000_000);
    expect(before.value('tandem_cosigner_request_duration_seconds_count', { type: 'keygen' })).toBe(1);
    const signatures = (scraped: Awaited<ReturnType<typeof scrape>>, kind: string) => scraped.value('tandem_cosigner_signatures_total', { kind }) ?? 0;

    // From a pooled presignature.
    await device.presign(1);
    expect(await signedBy(device.signTransaction(transaction(1n)))).toBe(device.address);
    const afterPooled = await scrape();
    expect(signatures(afterPooled, 'pooled')).toBe(signatures(before, 'pooled') + 1);
    expect(afterPooled.value('tandem_cosigner_request_duration_seconds_count', { type: 'presign' })).toBeGreaterThanOrEqual(1);
    expect(afterPooled.value('tandem_cosigner_request_duration_seconds_count', { type: 'sign' })).toBeGreaterThanOrEqual(1);
    expect(afterPooled.value('tandem_cosigner_request_duration_seconds_bucket', { type: 'sign', le: '+Inf' })).toBe(afterPooled.value('tandem_cosigner_request_duration_seconds_count', { type: 'sign' }));
    expect(afterPooled.value('tandem_cosigner_conversations_live')).toBeGreaterThanOrEqual(1);
    expect(afterPooled.value('tandem_cosigner_devices_connected')).toBe(1);

    // Refused by the policy.
    await cosigner.store.setPolicy(device.walletId, { maxValuePerTxWei: '1000' });
    expect((await refusal(device.signTransaction(transaction(5000n)))).code).toBe('POLICY');
    const afterRefusal = await scrape();
    expect(afterRefusal.value('tandem_cosigner_requests_refused_total', { code: 'POLICY' })).toBe((before.value('tandem_cosigner_requests_refused_total', { code: 'POLICY' }) ?? 0) + 1);

    // Held for an approver, then approved: the co-signer finishes it ('approved').
    const code = `code-alice-${Date.now()}`;
    await cosigner.store.approvals.inviteApprover({ name: 'alice', codeDigest: createHash('sha256').update(code).digest('hex'), expiresAt: Date.now() + 3_600_000 });
    const trust: PostJson = (base, path, body) => postJson(base, path, body, { caPem: cosigner.certPem });
    const alice: ApproverRecord = await enrollApprover({ cosignerUrl: cosigner.url, enrollmentCode: code, postJson: trust, caPem: cosigner.certPem });
    await cosigner.store.setPolicy(device.walletId, { approvals: [{ id: 'large', when: [{ kind: 'transaction', valueAboveWei: '1000' }], approvers: [alice.approverId], quorum: 1 }] });
    const held = await refusal(device.signTransaction(transaction(2000n)));
    expect(held.code).toBe('APPROVAL_PENDING');
    const requestId = held.rule!;
    const whileHeld = await scrape();
    expect(whileHeld.value('tandem_cosigner_requests_pending_approval')).toBe(1);
    expect(whileHeld.value('tandem_cosigner_requests_refused_total', { code: 'APPROVAL_PENDING' })).toBe(1);
    const approver = new ApproverSession(alice, { postJson: trust });
    try {
      const { requests } = await approver.list();
      await approver.decide(requestId, 'approve', requests.find((request) => request.requestId === requestId)!);
    } finally {
      await approver.close();
    }
    await until('the approved signature', async () => ((await cosigner.store.approvals.getRequest(requestId))?.state === 'signed' ? true : undefined));
    const afterApproval = await scrape();
    expect(signatures(afterApproval, 'approved')).toBe(1);
    expect(afterApproval.value('tandem_cosigner_requests_pending_approval')).toBe(0);
    await cosigner.store.setPolicy(device.walletId, {});

    // No presignature in the pool: presign and sign in one request ('full').
    expect(device.presignatureCount).toBe(0);
    expect(await signedBy(device.signTransaction(transaction(1n)))).toBe(device.address);
    const afterFull = await scrape();
    expect(signatures(afterFull, 'full')).toBe(signatures(before, 'full') + 1);
    expect(afterFull.value('tandem_cosigner_request_duration_seconds_count', { type: 'sign-now' })).toBeGreaterThanOrEqual(2);
  }, 60_000);
});

describe('JSON logs', () => {
  it('are one JSON object per line, carry fields, and never hold key shares, the master key or device secrets', async () => {
    expect(logLines.length).toBeGreaterThan(5);
    const parsed = logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const line of parsed) {
      expect(new Date(line.time as string).toISOString()).toBe(line.time);
      expect(['debug', 'info', 'warn', 'error']).toContain(line.level);
      expect(typeof line.msg).toBe('string');
    }
    // Call sites pass fields: a refusal names its wallet and code; the approval its request.
    expect(parsed).toContainEqual(expect.objectContaining({ walletId: device.walletId, code: 'POLICY', request: 'sign-now' }));
    expect(parsed).toContainEqual(expect.objectContaining({ walletId: device.walletId, code: 'APPROVAL_PENDING' }));
    expect(parsed.some((line) => typeof line.requestId === 'string' && /approved and signed/.test(line.msg as string))).toBe(true);

    // Known secret values: the co-signer's share, the device's share and identity key, the master key, the broker token.
    const cosignerShare = importKeyShare(await cosigner.store.loadShare(device.walletId, 'sign'));
    const file = JSON.parse(readFileSync(deviceFile, 'utf8')) as Record<string, unknown>;
    const deviceShare = device.deviceShare();
    const secrets = [
      cosignerShare.secretShare.toString(16).padStart(64, '0'),
      cosignerShare.secretShare.toString(),
      deviceShare.secretShare.toString(16).padStart(64, '0'),
      deviceShare.secretShare.toString(),
      MASTER_KEY_HEX,
      String(file.identitySecret),
      String(file.token),
    ];
    for (const secret of secrets) expect(secret.length).toBeGreaterThan(20);
    const text = logLines.join('\n').toLowerCase();
    for (const secret of secrets) expect(text).not.toContain(secret.toLowerCase());
    // And no field of a name the audit log refuses (share, state, password...).
    for (const line of parsed) for (const key of Object.keys(line)) expect(key.toLowerCase()).not.toMatch(/share|state|secret|password|token|mnemonic|seed/);
  });
});

describe('drain', () => {
  it('lets a signature in progress finish, says draining on /v1/health, and refuses a new request', async () => {
    // A second device of its own, for a request that reaches the co-signer while it drains.
    const otherFile = join(dir, 'other-device.json');
    const other = await TandemDevice.enroll({ cosignerUrl: cosigner.url, caPem: cosigner.certPem, file: otherFile, kind: '2of2' });
    await other.createKey();
    // Hold the pooled signature inside the co-signer, after it was admitted, until released.
    await device.presign(1);
    const store = cosigner.store as unknown as { consumePresignature: (...args: unknown[]) => unknown };
    const original = store.consumePresignature.bind(cosigner.store);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    store.consumePresignature = async (...args: unknown[]) => {
      if (args.length > 2) {
        entered();
        await released;
      }
      return original(...args);
    };
    const first = signedBy(device.signTransaction(transaction(1n)));
    await inside;
    expect((await health()).body.inFlight).toBe(1);

    const drained = cosigner.drain(20_000);
    await until('draining', async () => ((await health()).body.status === 'draining' ? true : undefined));
    await expect(health()).resolves.toMatchObject({ status: 503, body: { status: 'draining', ok: false, inFlight: 1 } });
    expect((await scrape()).value('tandem_cosigner_draining')).toBe(1);

    // Presence stays online until the request in progress is done: a new request reaches the co-signer, which refuses it.
    const refused = await refusal(other.signMessage('while draining'));
    expect(refused.code).toBe('UNAVAILABLE');
    expect(refused.message).toMatch(/draining/);
    release();
    expect(await first).toBe(device.address);
    await expect(drained).resolves.toEqual({ drained: true, inFlight: 0 });
    delete (store as { consumePresignature?: unknown }).consumePresignature;
    expect((await scrape()).value('tandem_cosigner_requests_refused_total', { code: 'UNAVAILABLE' })).toBeGreaterThanOrEqual(1);

    // Drained, the co-signer says it is offline: a device waits for it rather than sending into the void,
    // and its request expires saying so.
    await other.close();
    const waiting = TandemDevice.open(otherFile, { requestTimeoutMs: 1_500 });
    try {
      await waiting.connect();
      await until('offline presence', () => (waiting.cosignerStatus.state === 'offline' ? true : undefined));
      const expired = await waiting.signMessage('after the drain').then(
        () => undefined,
        (caught: unknown) => caught as ChannelError,
      );
      expect(expired).toBeInstanceOf(ChannelError);
      expect(expired!.code).toBe('CHANNEL_EXPIRED');
      expect(expired!.shortMessage).toMatch(/offline/);
    } finally {
      await waiting.close();
    }
  }, 60_000);

  it('answers at once when nothing is in flight, and may be asked again', async () => {
    await expect(cosigner.drain(0)).resolves.toEqual({ drained: true, inFlight: 0 });
  });
});
