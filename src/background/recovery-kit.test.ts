import { describe, expect, it } from 'vitest';
import { WalletError } from './errors.js';
import { newRecoverySecret, normaliseRecoverySecret, openRecoveryKit, sealRecoveryKit } from './recovery-kit.js';

const WALLET = { walletId: 'w-test', address: '0x9E70fA537cdd38b588Bc45Ff59E0E922797107db', cosignerUrl: 'https://127.0.0.1:8884', cosignerIdentity: '02'.padEnd(66, 'a') } as const;
// A cheap cost for tests only; the kit's own default is 2^15.
const TEST_COST = { name: 'scrypt', N: 2 ** 10, r: 8, p: 1 } as const;

describe('recovery kit', () => {
  it('makes 160-bit secrets in eight groups of four, never the same twice', () => {
    const secrets = new Set(Array.from({ length: 50 }, () => newRecoverySecret()));
    expect(secrets.size).toBe(50);
    for (const secret of secrets) expect(secret).toMatch(/^([0-9A-HJKMNP-TV-Z]{4}-){7}[0-9A-HJKMNP-TV-Z]{4}$/);
  });

  it('reads a secret as a person may type it back: case, spaces, dashes and O/I/L do not matter', () => {
    expect(normaliseRecoverySecret('ab0l-1oi2 ')).toBe(normaliseRecoverySecret('AB01-1012'));
  });

  it('opens with its secret, typed loosely, and gives back the backup share', async () => {
    const secret = newRecoverySecret();
    const kit = await sealRecoveryKit(secret, 'backup-share-export', WALLET, TEST_COST);
    expect(JSON.stringify(kit)).not.toContain('backup-share-export');
    expect(await openRecoveryKit(kit, secret.toLowerCase().replace(/-/g, ' '))).toBe('backup-share-export');
  });

  it('refuses a wrong secret, and a kit whose address or KDF cost was changed', async () => {
    const secret = newRecoverySecret();
    const kit = await sealRecoveryKit(secret, 'backup', WALLET, TEST_COST);
    await expect(openRecoveryKit(kit, newRecoverySecret())).rejects.toMatchObject({ code: 'BAD_RECOVERY_SECRET' });
    await expect(openRecoveryKit({ ...kit, address: '0x0000000000000000000000000000000000000001' }, secret)).rejects.toBeInstanceOf(WalletError);
    await expect(openRecoveryKit({ ...kit, kdf: { ...kit.kdf, N: 2 ** 11 } }, secret)).rejects.toMatchObject({ code: 'BAD_RECOVERY_SECRET' });
  });
});
