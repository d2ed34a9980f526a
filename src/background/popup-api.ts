/** The popup's requests to the worker (see api.ts PopupRequest), each answered with a PopupReply. */
import type { PopupReplies, PopupRequest, WalletOverview } from './api.js';
import { approvalView, getApproval, pendingApprovalIds } from './approvals.js';
import { WalletError } from './errors.js';
import { emitAccountsChanged, emitChainChanged } from './events.js';
import { decide } from './execute.js';
import { confirmRecovery, finishOnboarding, newRecoveryKit, onboard, onboardingProgress, recoveryKitState, restoreFromKit } from './onboarding.js';
import { connectedOrigins, revoke } from './permissions.js';
import { checkCosignerUrl, readSettings, writeSettings } from './settings.js';
import { currentCosignerStatus, deviceShare, lock, touch, unlock, walletAddress, walletParties, walletStatus } from './wallet.js';
import { emergencyBackup, enterEmergency, leaveEmergency } from './emergency.js';
import { exportPrivateKey } from './key-export.js';
import { readSealedVault } from './vault.js';
import { activity, walletPendingCount } from './held-requests/activity.js';
import { bundleView } from './calls/run-bundle.js';
import { tokenBalances } from './watch-asset/watched-tokens.js';
import { approverPendingCount, approverView, decide as decideAsApprover, enroll as enrollAsApprover } from './approver/approver.js';

export async function overview(): Promise<WalletOverview> {
  const [status, address, settings, origins, pending] = await Promise.all([walletStatus(), walletAddress(), readSettings(), connectedOrigins(), pendingApprovalIds()]);
  return {
    status,
    emergency: status === 'unlocked' && emergencyBackup() !== undefined,
    ...(address ? { address } : {}),
    chainId: settings.currentChainId,
    chains: settings.chains,
    cosignerUrl: settings.cosignerUrl,
    cosignerStatus: status === 'unlocked' ? currentCosignerStatus() : 'unknown',
    autoLockMinutes: settings.autoLockMinutes,
    connectedOrigins: origins,
    pendingApprovals: pending,
    recoveryKit: recoveryKitState(settings),
    walletKind: (await walletParties())?.length === 2 ? '2of2' : '2of3',
    ...(settings.deviceRevoked ? { deviceRevoked: settings.deviceRevoked } : {}),
    ...(status === 'restoring' ? { restoring: (await readSealedVault())?.restoring } : {}),
  };
}

type Handlers = { [A in PopupRequest['action']]: (request: Extract<PopupRequest, { action: A }>) => Promise<PopupReplies[A]> | PopupReplies[A] };

const HANDLERS: Handlers = {
  overview: () => overview(),
  onboard: (request) => onboard({ password: request.password, cosignerUrl: request.cosignerUrl, ...(request.enrollmentCode ? { enrollmentCode: request.enrollmentCode } : {}) }),
  onboardingProgress: () => onboardingProgress(),
  newRecoveryKit: () => newRecoveryKit(),
  restore: (request) => restoreFromKit({ kit: request.kit, recoverySecret: request.recoverySecret, password: request.password, cosignerUrl: request.cosignerUrl }),
  confirmRecovery: (request) => confirmRecovery(request.recoverySecret),
  finishOnboarding: async () => {
    await finishOnboarding();
    return overview();
  },
  unlock: async (request) => {
    await unlock(request.password);
    return overview();
  },
  enterEmergency: async (request) => {
    await enterEmergency(await deviceShare(), request.kit, request.recoverySecret);
    return overview();
  },
  leaveEmergency: async () => {
    leaveEmergency();
    return overview();
  },
  exportKey: (request) => exportPrivateKey({ kit: request.kit, recoverySecret: request.recoverySecret, password: request.password, confirmation: request.confirmation }),
  lock: async () => {
    await lock();
    return overview();
  },
  setAutoLock: async (request) => {
    await writeSettings({ autoLockMinutes: request.minutes });
    await touch();
    return overview();
  },
  setCosignerUrl: async (request) => {
    if ((await walletStatus()) !== 'uninitialised') throw new WalletError('BAD_SETTING', 'The co-signer is fixed once the wallet exists: its share lives there.');
    await writeSettings({ cosignerUrl: checkCosignerUrl(request.cosignerUrl) });
    return overview();
  },
  switchChain: async (request) => {
    const settings = await readSettings();
    if (settings.currentChainId !== request.chainId) {
      await writeSettings({ currentChainId: request.chainId });
      await emitChainChanged(request.chainId);
    }
    return overview();
  },
  revokeOrigin: async (request) => {
    await revoke(request.origin);
    await emitAccountsChanged([request.origin]);
    return overview();
  },
  approval: async (request) => {
    const record = await getApproval(request.id);
    if (!record) throw new WalletError('UNKNOWN_REQUEST', 'This request is no longer waiting (it was answered, or the browser restarted).');
    return approvalView(record);
  },
  decide: (request) => decide(request.id, request.approve),
  activity: (request) => activity(request.refresh === true),
  heldCounts: async () => {
    if ((await walletStatus()) !== 'unlocked') return {};
    const walletPending = walletPendingCount();
    const approverPending = await approverPendingCount();
    return { ...(walletPending === undefined ? {} : { walletPending }), ...(approverPending === undefined ? {} : { approverPending }) };
  },
  approver: (request) => approverView(request.refresh === true),
  enrollApprover: (request) => enrollAsApprover(String(request.enrollmentCode ?? '')),
  decideHeld: (request) => decideAsApprover(String(request.requestId), request.verdict, request.payloadHash),
  callsBundle: (request) => bundleView(String(request.ref)),
  tokens: async () => tokenBalances((await walletStatus()) === 'unlocked' ? await walletAddress() : undefined),
};

export function handlePopupRequest(request: PopupRequest): Promise<unknown> {
  const handler = HANDLERS[request.action] as ((request: PopupRequest) => unknown) | undefined;
  if (!handler) return Promise.reject(new WalletError('UNKNOWN_REQUEST', `Unknown popup action ${String(request.action)}.`));
  // A handler that throws synchronously must still answer the popup (with the error), not leave it without a reply.
  return new Promise((resolve) => resolve(handler(request)));
}
