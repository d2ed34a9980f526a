import { describe, expect, it } from 'vitest';
import { stringToHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { ProviderRpcError } from '../errors.js';
import { personalEcRecover } from './recover.js';

// Hardhat's first well-known test key.
const alice = privateKeyToAccount('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
const recover = (params: unknown) => personalEcRecover({ origin: 'https://dapp.example', method: 'personal_ecRecover', params, requestKey: 'k' });

describe('personal_ecRecover', () => {
  it('answers the checksummed address that signed a hex or a text message (as eth_accounts spells it)', async () => {
    const text = 'Example `personal_sign` message';
    const signature = await alice.signMessage({ message: text });
    expect(await recover([stringToHex(text), signature])).toEqual({ result: alice.address });
    expect(await recover([text, signature])).toEqual({ result: alice.address });
  });

  it('refuses malformed params with -32602, before any recovery', async () => {
    const signature = await alice.signMessage({ message: 'x' });
    await expect(recover([stringToHex('x')])).rejects.toThrow(/personal_ecRecover expects \[message, signature\]/);
    await expect(recover([stringToHex('x'), '0x1234'])).rejects.toThrow(/signature must be 65 bytes/);
    await expect(recover([stringToHex('x'), `${signature}00`])).rejects.toThrow(/signature is 66 bytes/);
    await expect(recover([42, signature])).rejects.toBeInstanceOf(ProviderRpcError);
    await expect(recover([42, signature])).rejects.toMatchObject({ code: -32602 });
  });

  it('refuses a signature no address can be recovered from', async () => {
    await expect(recover([stringToHex('x'), `0x${'00'.repeat(64)}1b`])).rejects.toMatchObject({ code: -32602, message: expect.stringMatching(/could not recover an address/) });
  });
});
