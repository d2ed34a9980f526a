/**
 * A second approver on the command line, against a co-signer started here (embedded broker over
 * WSS): the operator invites (co-signer CLI), the approver enrolls, lists, shows, approves and
 * rejects (client CLI, real child processes), and the device's signing commands report a held
 * request (exit 3), show it, and with --wait print the signature once it is approved.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicClient, createWalletClient, http, parseEther, recoverMessageAddress, type Hex } from 'viem';
import { generatePrivateKey, mnemonicToAccount, privateKeyToAddress } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestView } from '../channel/approval-protocol.js';
import { runCli as runCosignerCli } from '../cosigner/cli.js';
import { startCosigner, type RunningCosigner } from '../cosigner/service.js';
import { HARDHAT_MNEMONIC, startHardhatNode, type HardhatNode } from './testing/hardhat-node.js';
import { runCli, type CliRun } from './testing/run-cli.js';

const MASTER_KEY = { TANDEM_MASTER_KEY: '11'.repeat(32) };

function succeeded(run: CliRun): string[] {
  expect(run.timedOut, 'the CLI did not exit by itself').toBe(false);
  expect(run.code, run.stderr).toBe(0);
  return run.stdout.trim().split('\n');
}

describe('approver and held requests on the command line', () => {
  let dir: string;
  let dataDir: string;
  let cosigner: RunningCosigner;
  let caFile: string;
  let walletFile: string;
  let walletId: string;
  let address: Hex;
  let approverFile: string;
  let approverId: string;
  let hardhat: Promise<HardhatNode>;

  /** The operator's CLI, in this process, on the running co-signer's data directory (WAL lets both work). */
  async function operator(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const code = await runCosignerCli([...args, '--data-dir', dataDir], { stdout: (text) => void (stdout += `${text}\n`), stderr: (text) => void (stderr += `${text}\n`), env: MASTER_KEY });
    return { code, stdout, stderr };
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-approver-cli-'));
    // Started now, awaited by the send test: its start-up overlaps the rest.
    hardhat = startHardhatNode();
    hardhat.catch(() => undefined);
    dataDir = join(dir, 'cosigner');
    cosigner = await startCosigner({ dataDir, port: 0, env: MASTER_KEY, log: () => undefined });
    caFile = join(dir, 'cosigner.pem');
    writeFileSync(caFile, cosigner.certPem);
    walletFile = join(dir, 'wallet.json');
    approverFile = join(dir, 'alice.approver.json');
    const created = await runCli(['create', '--cosigner', cosigner.url, '--ca', caFile, '--wallet', walletFile]);
    address = succeeded(created)[0] as Hex;
    walletId = (JSON.parse(readFileSync(walletFile, 'utf8')) as { walletId: string }).walletId;
  });

  afterAll(async () => {
    await hardhat?.then((node) => node.stop(), () => undefined);
    await cosigner?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('enrolls with the operator\'s one-time code into an owner-only approver file; the code works once', async () => {
    const invited = await operator('approvers', 'invite', 'alice', '--json');
    expect(invited.code, invited.stderr).toBe(0);
    const { code } = JSON.parse(invited.stdout) as { code: string };

    // Typed in lower case: still the code.
    const enrolled = await runCli(['approver', 'enroll', '--cosigner', cosigner.url, '--ca', caFile, '--code', code.toLowerCase(), '--file', approverFile]);
    [approverId] = succeeded(enrolled) as [string];
    expect(approverId).toMatch(/^[0-9a-f]{32}$/);
    expect(enrolled.stderr).toContain('Enrolled as approver alice');
    expect((statSync(approverFile).mode & 0o777).toString(8)).toBe('600');
    const file = JSON.parse(readFileSync(approverFile, 'utf8')) as Record<string, unknown>;
    expect(file).toMatchObject({ format: 'tandem-approver', version: 1, approverId, name: 'alice', cosignerUrl: cosigner.url });
    expect(file['identitySecret']).toMatch(/^[0-9a-f]{64}$/);

    const again = await runCli(['approver', 'enroll', '--cosigner', cosigner.url, '--ca', caFile, '--code', code, '--file', join(dir, 'again.json')]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/unknown, used or expired/);
    expect(existsSync(join(dir, 'again.json'))).toBe(false);

    const taken = await runCli(['approver', 'enroll', '--cosigner', cosigner.url, '--code', code, '--file', approverFile]);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/already exists/);

    const listed = await operator('approvers', 'list');
    expect(listed.stdout).toMatch(new RegExp(`^${approverId} +alice +active `, 'm'));
    const policy = await operator('policy', 'set', walletId, '--approvals', JSON.stringify([{ id: 'messages', when: [{ kind: 'message' }], approvers: ['alice'], quorum: 1 }]));
    expect(policy.code, policy.stderr).toBe(0);
  });

  it('a held message: exit 3 with the request id; the device and the approver see it; approve asks first; the device gets the signature', async () => {
    const held = await runCli(['sign-message', '--wallet', walletFile, 'pay the invoice']);
    expect(held.code, held.stderr).toBe(3);
    const requestId = held.stdout.trim();
    expect(requestId).toMatch(/^[0-9a-f]{32}$/);
    expect(held.stderr).toContain(`Held for approval: request ${requestId}.`);
    expect(held.stderr).toContain(`npm run client -- requests show ${requestId} --wallet ${walletFile}`);

    const [deviceList, approverList, shown] = await Promise.all([
      runCli(['requests', 'list', '--wallet', walletFile]),
      runCli(['approver', 'list', '--file', approverFile]),
      runCli(['approver', 'show', requestId, '--file', approverFile]),
    ]);
    expect(succeeded(deviceList).join('\n')).toMatch(new RegExp(`^${requestId} +pending-approval +0/1 messages +\\S+ +message "pay the invoice"$`, 'm'));
    expect(succeeded(approverList).join('\n')).toMatch(new RegExp(`^${requestId} +pending-approval +to decide +0/1 messages `, 'm'));
    const text = succeeded(shown).join('\n');
    expect(text).toContain(`Request ${requestId}: pending-approval`);
    expect(text).toMatch(/^ {2}text +"pay the invoice"$/m);
    expect(text).toMatch(/^ {2}digest +0x[0-9a-f]{64}$/m);
    expect(text).toMatch(/^ {2}payload +"pay the invoice"$/m);
    expect(text).toContain('rule messages: 1 of alice (you)');

    const unconfirmed = await runCli(['approver', 'approve', requestId, '--file', approverFile], { stdin: 'no\n' });
    expect(unconfirmed.code).toBe(1);
    expect(unconfirmed.stderr).toMatch(/Not confirmed/);

    const approved = await runCli(['approver', 'approve', requestId, '--file', approverFile], { stdin: 'yes\n' });
    expect(succeeded(approved)).toEqual(['approved']);
    expect(approved.stderr).toContain('Type "yes"');

    // The co-signer finishes the signature at once; the device reads it.
    let view: RequestView | undefined;
    for (let attempt = 0; attempt < 20 && view?.state !== 'signed'; attempt += 1) {
      view = JSON.parse(succeeded(await runCli(['requests', 'show', requestId, '--file', walletFile, '--json'])).join('\n')) as RequestView;
    }
    expect(view).toMatchObject({ state: 'signed', decisions: [{ approverId, verdict: 'approve' }] });
    expect(await recoverMessageAddress({ message: 'pay the invoice', signature: view!.result!.signature! })).toBe(address);

    const operatorView = await operator('requests', 'show', requestId);
    expect(operatorView.stdout).toMatch(new RegExp(`^ {2}alice +approve at `, 'm'));
    const late = await runCli(['approver', 'reject', requestId, '--file', approverFile, '--yes']);
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(/You already decided to approve/);
  });

  it('--wait prints the signature once approved, and fails (exit 1) once rejected', async () => {
    const waiting = runCli(['sign-message', '--wallet', walletFile, '--wait', 'second invoice']);
    const pending = async (text: string) => {
      for (let attempt = 0; attempt < 60; attempt += 1) {
        const listed = JSON.parse(succeeded(await runCli(['approver', 'list', '--file', approverFile, '--json'])).join('\n')) as { requests: RequestView[] };
        const found = listed.requests.find((request) => request.state === 'pending-approval' && request.decoded.kind === 'message' && request.decoded.text === text);
        if (found) return found.requestId;
        await new Promise((resolveLater) => setTimeout(resolveLater, 250));
      }
      throw new Error(`no pending request for ${text}`);
    };
    const requestId = await pending('second invoice');
    expect(succeeded(await runCli(['approver', 'approve', requestId, '--file', approverFile, '--yes']))).toEqual(['approved']);
    const waited = await waiting;
    const [signature] = succeeded(waited) as [Hex];
    expect(await recoverMessageAddress({ message: 'second invoice', signature })).toBe(address);
    expect(waited.stderr).toContain('Waiting for its approvers (--wait)');
    expect(waited.stderr).toContain(`Request ${requestId} is signed.`);

    const rejecting = runCli(['sign-message', '--wallet', walletFile, '--wait', 'third invoice']);
    const rejectedId = await pending('third invoice');
    expect(succeeded(await runCli(['approver', 'reject', rejectedId, '--file', approverFile, '--yes']))).toEqual(['rejected']);
    const rejected = await rejecting;
    expect(rejected.code).toBe(1);
    expect(rejected.stdout).toBe('');
    expect(rejected.stderr).toMatch(new RegExp(`error: Request ${rejectedId} was rejected`));
    expect(rejected.stderr).toMatch(/code: CLI_REQUEST_REJECTED/);
  });

  it('send --wait: a held transfer is approved, signed by the co-signer, sent through --rpc here and mined', async () => {
    const node = await hardhat;
    const chain = createPublicClient({ transport: http(node.url), pollingInterval: 200 });
    const funding = await createWalletClient({ account: mnemonicToAccount(HARDHAT_MNEMONIC), transport: http(node.url) }).sendTransaction({ chain: null, to: address, value: parseEther('1') });
    await chain.waitForTransactionReceipt({ hash: funding });
    const rules = [
      { id: 'messages', when: [{ kind: 'message' }], approvers: ['alice'], quorum: 1 },
      { id: 'transfers', when: [{ kind: 'transaction' }], approvers: [approverId], quorum: 1 },
    ];
    expect((await operator('policy', 'set', walletId, '--approvals', JSON.stringify(rules))).code).toBe(0);
    const recipient = privateKeyToAddress(generatePrivateKey());

    const sending = runCli(['send', '--wallet', walletFile, '--rpc', node.url, '--to', recipient, '--value-eth', '0.1', '--wait']);
    let requestId: string | undefined;
    for (let attempt = 0; attempt < 60 && !requestId; attempt += 1) {
      const listed = JSON.parse(succeeded(await runCli(['approver', 'list', '--file', approverFile, '--json'])).join('\n')) as { requests: RequestView[] };
      requestId = listed.requests.find((request) => request.state === 'pending-approval' && request.decoded.kind === 'transaction' && request.decoded.to?.toLowerCase() === recipient.toLowerCase())?.requestId;
      if (!requestId) await new Promise((resolveLater) => setTimeout(resolveLater, 250));
    }
    expect(requestId, 'the transfer was not held').toBeDefined();
    const shown = succeeded(await runCli(['approver', 'show', requestId!, '--file', approverFile])).join('\n');
    expect(shown).toMatch(/^ {2}value +0\.1 ETH \(100000000000000000 wei\)$/m);
    expect(shown).toMatch(/^ {2}payload +unsigned transaction 0x02/m);
    expect(succeeded(await runCli(['approver', 'approve', requestId!, '--file', approverFile, '--yes']))).toEqual(['approved']);

    const [hash, mined] = succeeded(await sending) as [Hex, string];
    const receipt = await chain.getTransactionReceipt({ hash });
    expect(receipt.from).toBe(address.toLowerCase());
    expect(receipt.to).toBe(recipient.toLowerCase());
    expect(mined).toBe(`block ${receipt.blockNumber} status success`);
    expect(await chain.getBalance({ address: recipient })).toBe(parseEther('0.1'));
  });

  it('renews an expiring broker token and writes it back to the approver file, still 0600', async () => {
    const before = JSON.parse(readFileSync(approverFile, 'utf8')) as { token: string; tokenExpiresAt: number };
    writeFileSync(approverFile, JSON.stringify({ ...before, tokenExpiresAt: Date.now() + 1000 }, null, 2));
    chmodSync(approverFile, 0o600);
    succeeded(await runCli(['approver', 'list', '--file', approverFile]));
    const after = JSON.parse(readFileSync(approverFile, 'utf8')) as { token: string; tokenExpiresAt: number };
    expect(after.tokenExpiresAt).toBeGreaterThan(Date.now() + 5 * 60_000);
    expect((statSync(approverFile).mode & 0o777).toString(8)).toBe('600');
  });

  it('usage: a group alone lists its commands; a bad request id is a usage error; a wallet file is not an approver file', async () => {
    const [group, badId, walletAsApprover] = await Promise.all([
      runCli(['approver']),
      runCli(['requests', 'show', 'nope', '--wallet', walletFile]),
      runCli(['approver', 'list', '--file', walletFile]),
    ]);
    expect(group.code).toBe(2);
    expect(group.stderr).toContain('approver enroll');
    expect(group.stderr).toContain('approver reject');
    expect(badId.code).toBe(2);
    expect(badId.stderr).toMatch(/A request id is 32 lowercase hex characters/);
    expect(walletAsApprover.code).toBe(1);
    expect(walletAsApprover.stderr).toMatch(/It is a wallet file/);
  });
});
