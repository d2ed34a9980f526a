/**
 * Emergency mode: the co-signer is gone, so the device and the backup party (from the recovery
 * kit, opened with its secret) sign together here, with the same approvals. The backup share
 * lives only in this module's memory: leaving emergency mode, locking, or the worker ending
 * drops it, and nothing of it is ever written to storage.
 */
import { importKeyShare, keyShareAddress, type KeyShare } from '../mpc/keyshare.js';
import { assertSharesCombine } from '../mpc/local-shares.js';
import { WalletError } from './errors.js';
import { openRecoveryKit, parseRecoveryKit } from './recovery-kit.js';

let backup: KeyShare | undefined;

export function emergencyBackup(): KeyShare | undefined {
  return backup;
}

/** Opens the kit and checks that its share signs with this device's; only then is emergency mode on. */
export async function enterEmergency(device: KeyShare, kitText: string, recoverySecret: string): Promise<void> {
  const kit = parseRecoveryKit(kitText);
  if (kit.address.toLowerCase() !== keyShareAddress(device).toLowerCase()) {
    throw new WalletError('BAD_RECOVERY_KIT', `This recovery kit is of ${kit.address}, not of this wallet ${keyShareAddress(device)}.`);
  }
  const share = importKeyShare(await openRecoveryKit(kit, recoverySecret));
  assertSharesCombine(device, share);
  backup = share;
}

export function leaveEmergency(): void {
  // A bigint cannot be overwritten in place: dropping the only reference is what JavaScript allows.
  backup = undefined;
}
