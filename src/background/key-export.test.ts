import { beforeEach, describe, expect, it, vi } from 'vitest';
import { privateKeyToAddress } from 'viem/accounts';
import { exportKeyShare, keyShareAddress, type KeyShare } from '../mpc/keyshare.js';
import { runDkg, runRefresh } from '../mpc/local-runner.js';
import { EXPORT_KEY_CONFIRMATION } from './api.js';
import { toRpcError, WalletError } from './errors.js';
import { newRecoverySecret, sealRecoveryKit } from './recovery-kit.js';

// The worker's state is mocked: wallet.js needs the extension APIs, vault.js IndexedDB.
const state = vi.hoisted(() => ({
  device: undefined as unknown,
  passwordChecks: [] as string[],
  wiped: 0,
  keys: [] as Uint8Array[],
}));
vi.mock('./wallet.js', async () => {
  const { WalletError } = await import('./errors.js');
  return {
    deviceShare: async () => {
      if (!state.device) throw new WalletError('LOCKED', 'The wallet is locked: unlock it in the Tandem popup.');
      return state.device;
    },
  };
});
vi.mock('./vault.js', async () => {
  const { WalletError } = await import('./errors.js');
  return {
    unlockVault: async (password: string) => {
      state.passwordChecks.push(password);
      if (password !== 'right password') throw new WalletError('WRONG_PASSWORD', 'Wrong password. Check it and try again.');
      return { keyBytes: new Uint8Array(32), store: { wipe: () => void state.wiped++ } };
    },
  };
});
vi.mock('../mpc/local-shares.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../mpc/local-shares.js')>();
  return {
    ...original,
    reconstructPrivateKey: (a: KeyShare, b: KeyShare) => {
      const key = original.reconstructPrivateKey(a, b);
      state.keys.push(key);
      return key;
    },
  };
});

const { exportPrivateKey } = await import('./key-export.js');

const [device, cosigner, backup] = runDkg([1, 2, 3]).shares as [KeyShare, KeyShare, KeyShare];
const address = keyShareAddress(device);
const TEST_COST = { name: 'scrypt', N: 2 ** 10, r: 8, p: 1 } as const;
const secret = newRecoverySecret();

async function kitFor(share: KeyShare, kitAddress = keyShareAddress(share)): Promise<string> {
  const wallet = { walletId: 'ab'.repeat(16), address: kitAddress, cosignerUrl: 'https://127.0.0.1:8884', cosignerIdentity: '02'.padEnd(66, 'a') };
  return JSON.stringify(await sealRecoveryKit(secret, exportKeyShare(share), wallet, TEST_COST));
}

const request = async (change: Partial<Parameters<typeof exportPrivateKey>[0]> = {}) => ({
  kit: await kitFor(backup),
  recoverySecret: secret,
  password: 'right password',
  confirmation: EXPORT_KEY_CONFIRMATION,
  ...change,
});

describe('exportPrivateKey', () => {
  beforeEach(() => {
    state.device = device;
    state.passwordChecks = [];
    state.wiped = 0;
    state.keys = [];
  });

  it("gives the wallet's key, checked against the password, and overwrites the key bytes", async () => {
    const exported = await exportPrivateKey(await request());
    expect(exported.address).toBe(address);
    expect(exported.privateKey).toMatch(/^0x[0-9a-f]{64}$/);
    expect(privateKeyToAddress(exported.privateKey)).toBe(address);
    expect(state.passwordChecks).toEqual(['right password']);
    expect(state.wiped).toBe(1);
    expect(state.keys).toHaveLength(1);
    expect(state.keys[0]!.every((byte) => byte === 0)).toBe(true);
  });

  it('refuses while locked, before looking at anything else', async () => {
    state.device = undefined;
    await expect(exportPrivateKey(await request())).rejects.toMatchObject({ code: 'LOCKED' });
    expect(state.passwordChecks).toEqual([]);
  });

  it('refuses a confirmation that is not exactly the phrase, before checking the password', async () => {
    for (const confirmation of ['', EXPORT_KEY_CONFIRMATION.toLowerCase(), ` ${EXPORT_KEY_CONFIRMATION}`, 'EXPORT MY KEY']) {
      const failure = await exportPrivateKey(await request({ confirmation })).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(WalletError);
      expect(failure).toMatchObject({ code: 'BAD_SETTING', shortMessage: expect.stringContaining(EXPORT_KEY_CONFIRMATION) });
    }
    expect(state.passwordChecks).toEqual([]);
  });

  it('refuses a wrong password with the vault\'s typed error', async () => {
    await expect(exportPrivateKey(await request({ password: 'wrong' }))).rejects.toMatchObject({ code: 'WRONG_PASSWORD' });
    expect(state.keys).toHaveLength(0);
  });

  it('refuses a wrong recovery secret, a damaged file, and a kit of another address', async () => {
    await expect(exportPrivateKey(await request({ recoverySecret: newRecoverySecret() }))).rejects.toMatchObject({ code: 'BAD_RECOVERY_SECRET' });
    await expect(exportPrivateKey(await request({ kit: '{"format":' }))).rejects.toMatchObject({ code: 'BAD_RECOVERY_KIT' });
    const other = runDkg([1, 2, 3]).shares[2]!;
    await expect(exportPrivateKey(await request({ kit: await kitFor(other) }))).rejects.toMatchObject({
      code: 'BAD_RECOVERY_KIT',
      shortMessage: expect.stringContaining('not of this wallet'),
    });
    expect(state.keys).toHaveLength(0);
  });

  it('refuses a kit from before a refresh with a message the popup shows as it is', async () => {
    const [refreshedDevice] = runRefresh([device, cosigner, backup]).shares as [KeyShare];
    state.device = refreshedDevice;
    const failure = await exportPrivateKey(await request()).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'MPC_SHARE_MISMATCH' });
    const body = toRpcError(failure);
    expect(body.message).toMatch(/different refreshes.*latest refresh or restore/);
    expect(body.reason).toBe('MPC_SHARE_MISMATCH');
    expect(state.keys).toHaveLength(0);
  });
});
