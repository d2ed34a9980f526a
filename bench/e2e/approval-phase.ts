/**
 * The approval round trip with the approver online: from the device's sign request (held by the
 * wallet's policy) through the approver's mailbox, its signed decision, the co-signer finishing the
 * signature, to the device reading the signed result from its own mailbox.
 */
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { recoverMessageAddress, type Hex } from 'viem';
import type { RequestView } from '../../src/channel/approval-protocol.js';
import { ApproverSession, enrollApprover } from '../../src/channel/approver-session.js';
import type { PostJson } from '../../src/channel/device-session.js';
import { CosignerRefusedError } from '../../src/channel/protocol-conversation.js';
import { postJson } from '../../src/client/http.js';
import { TandemDevice } from '../../src/client/tandem-device.js';
import { databasePath, loadMasterKey, openSqliteStore } from '../../src/cosigner/store/index.js';
import type { CosignerChild } from './cosigner-child.js';

export interface ApprovalPhaseResult {
  roundTrips: number[];
  verified: number;
}

/** The operator's side (invitation, policy) is written to the running co-signer's database, as its CLI does. */
export async function approvalPhase(child: CosignerChild, options: { dataDir: string; workDir: string; masterKeyHex: string; samples: number }): Promise<ApprovalPhaseResult> {
  const trust: PostJson = (base, path, body) => postJson(base, path, body, { caPem: child.certPem });
  const store = openSqliteStore({ path: databasePath(options.dataDir), masterKey: loadMasterKey({ dataDir: options.dataDir, env: { TANDEM_MASTER_KEY: options.masterKeyHex } }) });
  const device = await TandemDevice.enroll({ cosignerUrl: child.url, caPem: child.certPem, file: join(options.workDir, 'approval-wallet.json'), kind: '2of2' });
  // Updates by request id, kept until asked for: one may arrive before the sign call has returned.
  const finishedUpdates = new Map<string, RequestView>();
  const waiters = new Map<string, (request: RequestView) => void>();
  let approver: ApproverSession | undefined;
  try {
    const code = randomBytes(16).toString('hex');
    store.approvals.inviteApprover({ name: 'bench-approver', codeDigest: createHash('sha256').update(code).digest('hex'), expiresAt: Date.now() + 600_000 });
    const record = await enrollApprover({ cosignerUrl: child.url, enrollmentCode: code, postJson: trust, caPem: child.certPem });
    await device.createKey();
    store.setPolicy(device.walletId, { approvals: [{ id: 'every-message', when: [{ kind: 'message' }], approvers: [record.approverId], quorum: 1 }] });

    // An approver that approves each request as it arrives: the human is taken out of the measurement.
    const decided = new Set<string>();
    approver = new ApproverSession(record, {
      postJson: trust,
      onUpdate: (request) => {
        if (request.state !== 'pending-approval' || decided.has(request.requestId)) return;
        decided.add(request.requestId);
        void approver!.decide(request.requestId, 'approve', request).catch(() => undefined);
      },
    });
    await approver.connect();
    const reopened = TandemDevice.open(join(options.workDir, 'approval-wallet.json'), {
      onRequestUpdate: (request) => {
        if (request.state !== 'signed' && request.state !== 'failed' && request.state !== 'rejected') return;
        const waiter = waiters.get(request.requestId);
        if (waiter) waiter(request);
        else finishedUpdates.set(request.requestId, request);
      },
    });
    await device.close();
    await reopened.connect();

    const roundTrips: number[] = [];
    let verified = 0;
    for (let i = 0; i < options.samples + 1; i++) {
      const text = `tandem bench approval ${randomBytes(8).toString('hex')}`;
      await reopened.presign(1);
      const started = performance.now();
      const error = await reopened.signMessage(text).then(() => undefined, (caught: unknown) => caught);
      if (!(error instanceof CosignerRefusedError) || error.code !== 'APPROVAL_PENDING') throw new Error(`the request was not held for approval: ${String(error)}`);
      const requestId = error.rule!;
      const finished =
        finishedUpdates.get(requestId) ??
        (await new Promise<RequestView>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`request ${requestId} was not signed within 15 s`)), 15_000);
          waiters.set(requestId, (request) => {
            clearTimeout(timer);
            resolve(request);
          });
        }));
      const elapsed = performance.now() - started;
      if (finished.state !== 'signed') throw new Error(`request ${requestId} ended ${finished.state}: ${finished.result?.error ?? ''}`);
      if (i > 0) roundTrips.push(elapsed); // the first one warms up the approver's and the device's mail path
      if ((await recoverMessageAddress({ message: text, signature: finished.result!.signature as Hex })).toLowerCase() === reopened.address.toLowerCase()) verified++;
    }
    await reopened.close();
    return { roundTrips, verified };
  } finally {
    await approver?.close();
    await device.close().catch(() => undefined);
    store.close();
  }
}
