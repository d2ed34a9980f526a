/**
 * The recovery kit: the backup share, sealed under a recovery secret the user writes down, as a
 * JSON file. With the kit and the secret, the backup party can sign with the device (if the
 * co-signer disappears) or with the co-signer (if the device is lost).
 */
import { base32crockford } from '@scure/base';
import { randomBytes } from '../mpc/bytes.js';
import { WalletError } from './errors.js';
import { deriveKey, newKdfParams, openJson, RECOVERY_KDF, sealJson, type KdfParams, type SealedBox } from './sealed-box.js';

export const RECOVERY_KIT_FORMAT = 'tandem-recovery-kit';


export interface RecoveryKit {
  format: typeof RECOVERY_KIT_FORMAT;
  version: 1;
  walletId: string;
  address: `0x${string}`;
  cosignerUrl: string;
  cosignerIdentity: string;
  createdAt: number;
  kdf: KdfParams;
  /** { backupShare: exportKeyShare() of the backup party } */
  box: SealedBox;
}

/** 32 characters of Crockford base32 in groups of four, e.g. "7K2M-9QXD-...". */
export function newRecoverySecret(): string {
  return base32crockford.encode(randomBytes(20)).match(/.{4}/g)!.join('-');
}

/** Case, spaces and dashes do not matter; O/I/L read as 0/1/1 (Crockford), as a person may type them. */
export function normaliseRecoverySecret(typed: string): string {
  return typed.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
}

function associatedData(kit: Pick<RecoveryKit, 'walletId' | 'address' | 'kdf'>): string {
  return `tandem/recovery-kit/v1|${kit.walletId}|${kit.address.toLowerCase()}|${JSON.stringify(kit.kdf)}`;
}

export async function sealRecoveryKit(
  secret: string,
  backupShare: string,
  wallet: { walletId: string; address: `0x${string}`; cosignerUrl: string; cosignerIdentity: string },
  kdfCost: Omit<KdfParams, 'salt'> = RECOVERY_KDF,
): Promise<RecoveryKit> {
  const kdf = newKdfParams(kdfCost);
  const meta = { ...wallet, kdf };
  const box = await sealJson(await deriveKey(normaliseRecoverySecret(secret), kdf), { backupShare }, associatedData(meta));
  return { format: RECOVERY_KIT_FORMAT, version: 1, ...wallet, createdAt: Date.now(), kdf, box };
}

/** The kit file as the user picked it: a clear error for a file that is not a whole kit. */
export function parseRecoveryKit(text: string): RecoveryKit {
  let kit: Partial<RecoveryKit>;
  try {
    kit = JSON.parse(text) as Partial<RecoveryKit>;
  } catch {
    throw new WalletError('BAD_RECOVERY_KIT', 'This file is not a complete Tandem recovery kit (it is truncated or damaged). Pick the file you saved.');
  }
  const valid =
    kit?.format === RECOVERY_KIT_FORMAT &&
    kit.version === 1 &&
    typeof kit.walletId === 'string' &&
    /^[0-9a-f]{32}$/.test(kit.walletId) &&
    typeof kit.address === 'string' &&
    /^0x[0-9a-fA-F]{40}$/.test(kit.address) &&
    typeof kit.cosignerUrl === 'string' &&
    typeof kit.cosignerIdentity === 'string' &&
    typeof kit.kdf === 'object' &&
    typeof kit.box?.iv === 'string' &&
    typeof kit.box.ciphertext === 'string';
  if (!valid) throw new WalletError('BAD_RECOVERY_KIT', 'This file is not a Tandem recovery kit.');
  return kit as RecoveryKit;
}

export async function openRecoveryKit(kit: RecoveryKit, secret: string): Promise<string> {
  if (kit.format !== RECOVERY_KIT_FORMAT || kit.version !== 1) throw new WalletError('BAD_RECOVERY_KIT', 'This file is not a Tandem recovery kit.');
  const key = await deriveKey(normaliseRecoverySecret(secret), kit.kdf);
  const opened = await openJson<{ backupShare: string }>(key, kit.box, associatedData(kit), () => new WalletError('BAD_RECOVERY_SECRET', 'The recovery secret does not open this kit.'));
  return opened.backupShare;
}
