/**
 * Creating the wallet: enroll with the co-signer, seal the vault under the password, run a 2-of-3
 * DKG with the backup party run here for its duration only, then hand the backup share out as a
 * recovery kit once the user confirmed the recovery secret. The backup and the secret live only
 * in this worker's memory until then; nothing of them is written on the device.
 *
 * Restoring it into a fresh profile from the kit: open the kit with its secret, enroll into the
 * kit's wallet as a restoring device, seal the vault, and let the backup party (from the kit) and
 * the co-signer re-share the key to this device; the new backup share leaves as a NEW kit, exactly
 * as after keygen. The old kit and the old device stop working once the co-signer commits.
 *
 * Making a new kit later (refresh key shares): see newRecoveryKit.
 */
import { enrollDevice, isRevocation } from '../channel/device-session.js';
import type { OnboardingProgress, RecoveryKitFile } from './api.js';
import { WalletError, toRpcError } from './errors.js';
import { postJson } from './post-json.js';
import { newRecoverySecret, normaliseRecoverySecret, openRecoveryKit, parseRecoveryKit, sealRecoveryKit } from './recovery-kit.js';
import { checkCosignerUrl, writeSettings } from './settings.js';
import { createVault, deleteAbandonedRestore, deleteUnfinishedVault, readSealedVault, unlockVault } from './vault.js';
import { adopt, lock, requireSession, topUpPool } from './wallet.js';
import type { DeviceRecord } from '../channel/device-session.js';
import { leaveEmergency } from './emergency.js';
import { importKeyShare } from '../mpc/keyshare.js';

interface PendingKit {
  secret: string;
  file: RecoveryKitFile;
}

let progress: OnboardingProgress = { stage: 'enrolling', fraction: 0 };
let pendingKit: PendingKit | undefined;
let running: Promise<OnboardingProgress> | undefined;

export function onboardingProgress(): OnboardingProgress & { recoverySecret?: string } {
  return { ...progress, ...(progress.stage === 'recovery-kit' && pendingKit ? { recoverySecret: pendingKit.secret } : {}) };
}

/** One flow at a time (create, restore or a new kit); how it ended, failure included, is the progress the popup polls. */
function runOnce(flow: () => Promise<OnboardingProgress>): Promise<OnboardingProgress> {
  running ??= flow()
    .catch((error: unknown) => {
      progress = { stage: 'failed', fraction: 0, error: toRpcError(error) };
      return progress;
    })
    .finally(() => {
      running = undefined;
    });
  return running;
}

export function onboard(options: { password: string; cosignerUrl: string; enrollmentCode?: string }): Promise<OnboardingProgress> {
  return runOnce(() => run(options));
}

async function run(options: { password: string; cosignerUrl: string; enrollmentCode?: string }): Promise<OnboardingProgress> {
  if (options.password.length < 8) throw new WalletError('BAD_SETTING', 'Choose a password of at least 8 characters.');
  const cosignerUrl = checkCosignerUrl(options.cosignerUrl);
  if ((await readSealedVault())?.address) throw new WalletError('ALREADY_INITIALISED', 'This browser profile already has a Tandem wallet.');
  await deleteUnfinishedVault();
  progress = { stage: 'enrolling', fraction: 0.1 };
  const record = await enrollDevice({ cosignerUrl, kind: '2of3', postJson, ...(options.enrollmentCode ? { enrollmentCode: options.enrollmentCode } : {}) });
  await writeSettings({ cosignerUrl });
  progress = { stage: 'sealing-vault', fraction: 0.25 };
  const { keyBytes, store } = await createVault(options.password, record);
  await adopt(keyBytes, store);
  progress = { stage: 'generating-key', fraction: 0.4 };
  const session = await requireSession();
  const { address, backupShare } = await session.createKey();
  if (!backupShare) throw new WalletError('INTERRUPTED', 'Keygen returned no backup share.');
  await holdNewKit(backupShare, { walletId: record.walletId, address, cosignerUrl, cosignerIdentity: record.cosignerIdentity });
  void topUpPool();
  progress = { stage: 'recovery-kit', fraction: 0.9, address };
  return progress;
}

/** Seals a backup share into a new kit under a new secret, kept here until the user saved it. */
async function holdNewKit(backupShare: string, wallet: { walletId: string; address: `0x${string}`; cosignerUrl: string; cosignerIdentity: string }): Promise<void> {
  const secret = newRecoverySecret();
  const kit = await sealRecoveryKit(secret, backupShare, wallet);
  await writeSettings({ recoveryKitPending: true });
  pendingKit = { secret, file: { filename: `tandem-recovery-kit-${wallet.address.slice(0, 10).toLowerCase()}.json`, contents: JSON.stringify(kit, null, 2) } };
}

export function restoreFromKit(options: { kit: string; recoverySecret: string; password: string; cosignerUrl: string }): Promise<OnboardingProgress> {
  return runOnce(() => runRestore(options));
}

async function runRestore(options: { kit: string; recoverySecret: string; password: string; cosignerUrl: string }): Promise<OnboardingProgress> {
  if (options.password.length < 8) throw new WalletError('BAD_SETTING', 'Choose a password of at least 8 characters.');
  const cosignerUrl = checkCosignerUrl(options.cosignerUrl);
  const sealed = await readSealedVault();
  if (sealed?.address) throw new WalletError('ALREADY_INITIALISED', 'This browser profile already has a Tandem wallet.');
  progress = { stage: 'opening-kit', fraction: 0.05 };
  const kit = parseRecoveryKit(options.kit);
  const backupShare = await openRecoveryKit(kit, options.recoverySecret);
  let record: Readonly<DeviceRecord>;
  if (sealed?.restoring) {
    // An earlier run may have got as far as the co-signer's commit: its vault may hold the only
    // shares that now work. It is resumed, never thrown away (unless the co-signer refuses it for good).
    record = await resumeRestore(sealed.restoring, kit.address, options.password);
  } else {
    await deleteUnfinishedVault();
    progress = { stage: 'enrolling', fraction: 0.15 };
    const enrolled = await enrollDevice({ cosignerUrl, kind: '2of3', postJson, restore: { walletId: kit.walletId, address: kit.address, backupShare: importKeyShare(backupShare) } });
    if (enrolled.cosignerIdentity !== kit.cosignerIdentity) {
      throw new WalletError('BAD_SETTING', 'This co-signer is not the one that holds this wallet: its identity differs from the one in the recovery kit. Check the co-signer URL.');
    }
    await writeSettings({ cosignerUrl });
    progress = { stage: 'sealing-vault', fraction: 0.25 };
    const { keyBytes, store } = await createVault(options.password, enrolled);
    await adopt(keyBytes, store);
    record = enrolled;
  }
  progress = { stage: 'restoring', fraction: 0.4 };
  const session = await requireSession();
  const wallet = { walletId: kit.walletId, address: kit.address, cosignerUrl: record.cosignerUrl, cosignerIdentity: record.cosignerIdentity };
  const { address } = await session.restore(
    backupShare,
    (newBackupShare) => holdNewKit(newBackupShare, wallet),
    (readyAt, reason, code) => {
      // Held for the operator's approval, the co-signer's words say what to ask for; a plain delay is a countdown.
      progress = code === 'RESTORE_NEEDS_APPROVAL' ? { stage: 'restore-delay', fraction: 0.35, notice: reason } : { stage: 'restore-delay', fraction: 0.35, readyAt };
    },
  ).catch(async (error: unknown) => {
    // Refused for good (revoked, or cancelled by the operator): nothing of it was committed, so the
    // profile is freed for a new attempt instead of holding a restore that can never finish.
    if (isRevocation(error)) {
      await lock();
      await deleteAbandonedRestore();
    }
    throw error;
  });
  void topUpPool();
  progress = { stage: 'recovery-kit', fraction: 0.9, address };
  return progress;
}

/** Opens the vault of an interrupted restore of the same wallet, with the password chosen when it started. */
async function resumeRestore(restoring: `0x${string}`, kitAddress: `0x${string}`, password: string): Promise<Readonly<DeviceRecord>> {
  if (restoring.toLowerCase() !== kitAddress.toLowerCase()) {
    throw new WalletError('ALREADY_INITIALISED', `This browser profile holds an unfinished restore of ${restoring}: finish it with that wallet's recovery kit, or use a fresh profile.`);
  }
  progress = { stage: 'sealing-vault', fraction: 0.25 };
  const opened = await unlockVault(password).catch((error: unknown) => {
    if (error instanceof WalletError && error.code === 'WRONG_PASSWORD') {
      throw new WalletError('WRONG_PASSWORD', 'A restore of this wallet was started in this profile: type the password you chose then, to finish it.');
    }
    throw error;
  });
  await adopt(opened.keyBytes, opened.store);
  return opened.store.contents;
}

/**
 * Refresh key shares / a new recovery kit: this device and the co-signer re-share the key to
 * themselves and a new backup party run here, handed out as a new kit exactly as after keygen.
 * Needs no kit: it is also the way back from a lost one, and turns a 2-of-2 wallet into 2-of-3.
 * The new shares are committed only once the new device share is in the vault; the old kit dies then.
 */
export function newRecoveryKit(): Promise<OnboardingProgress> {
  return runOnce(runNewRecoveryKit);
}

async function runNewRecoveryKit(): Promise<OnboardingProgress> {
  if (pendingKit) throw new WalletError('ALREADY_INITIALISED', 'A new recovery kit is already waiting to be saved: save it first.');
  const session = await requireSession();
  const record = session.contents;
  if (!record.address) throw new WalletError('NOT_INITIALISED', 'The wallet has no key yet.');
  // The kit opened for emergency mode is about to die with the old shares.
  leaveEmergency();
  progress = { stage: 'resharing', fraction: 0.4, address: record.address };
  const wallet = { walletId: record.walletId, address: record.address, cosignerUrl: record.cosignerUrl, cosignerIdentity: record.cosignerIdentity };
  const { address } = await session.newBackup((backupShare) => holdNewKit(backupShare, wallet)).catch((error: unknown) => {
    // Held for a commit that did not complete (or whose answer was lost): it is not offered as the
    // kit. The wallet then says it has no backup, and the next new kit commits or replaces it.
    pendingKit = undefined;
    throw error;
  });
  void topUpPool();
  progress = { stage: 'recovery-kit', fraction: 0.9, address };
  return progress;
}

/** The user typed the secret back: only then does the kit leave. */
export function confirmRecovery(typed: string): RecoveryKitFile {
  if (!pendingKit) throw new WalletError('UNKNOWN_REQUEST', 'There is no recovery kit waiting (was the wallet already created, or the extension restarted?).');
  if (normaliseRecoverySecret(typed) !== normaliseRecoverySecret(pendingKit.secret)) {
    throw new WalletError('BAD_RECOVERY_SECRET', 'That is not the recovery secret shown above. Check each group and try again.');
  }
  return pendingKit.file;
}

/** The kit is saved: forget it and the secret. */
export async function finishOnboarding(): Promise<void> {
  if (!pendingKit) throw new WalletError('UNKNOWN_REQUEST', 'There is no recovery kit waiting.');
  pendingKit = undefined;
  progress = { ...progress, stage: 'done', fraction: 1 };
  await writeSettings({ recoveryKitPending: false });
}

export function recoveryKitState(settings: { recoveryKitPending?: boolean }): 'saved' | 'pending' | 'lost' {
  if (!settings.recoveryKitPending) return 'saved';
  return pendingKit ? 'pending' : 'lost';
}
