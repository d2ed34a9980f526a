/**
 * Key export: a user leaving Tandem combines this device's share with the backup share from the
 * recovery kit into the wallet's ordinary private key, so no operator can ever freeze the funds.
 * It takes the wallet unlocked, the password typed again, the recovery kit and its secret, and a
 * typed confirmation phrase. The key is checked against the wallet's public key, hex-encoded for
 * the popup that shows it once, and its bytes are overwritten. Nothing here stores or logs it.
 */
import { bytesToHex } from '../mpc/bytes.js';
import { importKeyShare, keyShareAddress, type KeyShare } from '../mpc/keyshare.js';
import { reconstructPrivateKey } from '../mpc/local-shares.js';
import { EXPORT_KEY_CONFIRMATION, type ExportedKey } from './api.js';
import { WalletError } from './errors.js';
import { openRecoveryKit, parseRecoveryKit } from './recovery-kit.js';
import { unlockVault } from './vault.js';
import { deviceShare } from './wallet.js';

export interface ExportKeyRequest {
  /** The recovery kit file's text. */
  kit: string;
  recoverySecret: string;
  password: string;
  /** Must be exactly EXPORT_KEY_CONFIRMATION. */
  confirmation: string;
}

export async function exportPrivateKey(request: ExportKeyRequest): Promise<ExportedKey> {
  // LOCKED (typed) when the wallet is locked: the password alone does not export the key.
  const device = await deviceShare();
  if (request.confirmation !== EXPORT_KEY_CONFIRMATION) {
    throw new WalletError('BAD_SETTING', `Type "${EXPORT_KEY_CONFIRMATION}" exactly (capital letters, no quotes) to show the private key.`);
  }
  await verifyPassword(request.password);
  return exportWithKit(device, request.kit, request.recoverySecret);
}

/**
 * WRONG_PASSWORD unless the password opens the vault. unlockVault only derives a key and opens
 * the sealed record; the copy opened here is wiped at once and the running session is untouched.
 */
async function verifyPassword(password: string): Promise<void> {
  const { store } = await unlockVault(password);
  store.wipe();
}

/** The kit must be of this wallet (as in enterEmergency) and its share must combine with the device's. */
async function exportWithKit(device: KeyShare, kitText: string, recoverySecret: string): Promise<ExportedKey> {
  const kit = parseRecoveryKit(kitText);
  const address = keyShareAddress(device);
  if (kit.address.toLowerCase() !== address.toLowerCase()) {
    throw new WalletError('BAD_RECOVERY_KIT', `This recovery kit is of ${kit.address}, not of this wallet ${address}.`);
  }
  const backup = importKeyShare(await openRecoveryKit(kit, recoverySecret.trim()));
  // ShareMismatchError (a kit from before a refresh or restore, a damaged share) goes to the popup as it is: its message says what to do.
  const key = reconstructPrivateKey(device, backup);
  try {
    return { address, privateKey: `0x${bytesToHex(key)}` };
  } finally {
    key.fill(0);
  }
}
