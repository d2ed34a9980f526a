import { describe, expect, it } from 'vitest';
import { privateKeyToAddress } from 'viem/accounts';
import { recoverMessageAddress, recoverTransactionAddress, parseEther } from 'viem';
import { bytesToHex } from './bytes.js';
import { ShareMismatchError } from './errors.js';
import { toViemSignature } from './ethereum.js';
import { keyShareAddress, type KeyShare } from './keyshare.js';
import { runDkg, runRefresh } from './local-runner.js';
import { reconstructPrivateKey, signWithLocalShares } from './local-shares.js';

const [device, cosigner, backup] = runDkg([1, 2, 3]).shares as [KeyShare, KeyShare, KeyShare];
const address = keyShareAddress(device);

describe('device + backup without the co-signer', () => {
  it('sign a personal message that recovers to the wallet address', async () => {
    const payload = { kind: 'message' as const, message: 'emergency: co-signer gone' };
    const { signature } = signWithLocalShares(device, backup, payload);
    expect(await recoverMessageAddress({ message: payload.message, signature: toViemSignature(payload, signature) })).toBe(address);
  });

  it('sign a transaction that recovers to the wallet address', async () => {
    const payload = {
      kind: 'transaction' as const,
      transaction: { type: 'eip1559' as const, chainId: 31337, to: '0x00000000000000000000000000000000000000cc' as const, value: parseEther('1'), nonce: 0, gas: 21000n, maxFeePerGas: 2n, maxPriorityFeePerGas: 1n },
    };
    const { signature } = signWithLocalShares(backup, device, payload);
    const serialized = toViemSignature(payload, signature) as `0x02${string}`;
    expect(await recoverTransactionAddress({ serializedTransaction: serialized })).toBe(address);
  });

  it('reconstruct the private key of the wallet address, from any two shares', () => {
    for (const [a, b] of [[device, backup], [backup, cosigner], [cosigner, device]] as const) {
      expect(privateKeyToAddress(`0x${bytesToHex(reconstructPrivateKey(a, b))}`)).toBe(address);
    }
  });

  it('refuse a kit of another wallet, one from before a refresh, two copies of one share, and a damaged share', () => {
    const other = runDkg([1, 2, 3]).shares[2]!;
    expect(() => signWithLocalShares(device, other, { kind: 'message', message: 'x' })).toThrow(ShareMismatchError);
    expect(() => reconstructPrivateKey(device, other)).toThrow(/different wallets/);
    const refreshed = runRefresh([device, cosigner, backup]).shares;
    expect(() => reconstructPrivateKey(refreshed[0]!, backup)).toThrow(/different refreshes/);
    expect(() => reconstructPrivateKey(device, device)).toThrow(/same share/);
    expect(() => reconstructPrivateKey(device, { ...backup, secretShare: backup.secretShare + 1n })).toThrow(/do not combine/);
  });
});
