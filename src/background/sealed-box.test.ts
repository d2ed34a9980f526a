import { describe, expect, it } from 'vitest';
import { WalletError } from './errors.js';
import { deriveKey, newKdfParams, openJson, sealJson, VAULT_KDF } from './sealed-box.js';

const wrong = () => new WalletError('WRONG_PASSWORD', 'Wrong password.');

describe('sealed box', () => {
  it('round-trips JSON under a derived key, bound to its associated data', async () => {
    const kdf = newKdfParams({ name: 'scrypt', N: 2 ** 10, r: 8, p: 1 });
    const key = await deriveKey('a password', kdf);
    const box = await sealJson(key, { share: 'secret-share' }, 'aad-1');
    expect(box.ciphertext).not.toContain(Buffer.from('secret-share').toString('hex'));
    expect(await openJson(key, box, 'aad-1', wrong)).toEqual({ share: 'secret-share' });
    await expect(openJson(key, box, 'aad-2', wrong)).rejects.toMatchObject({ code: 'WRONG_PASSWORD' });
  });

  it('a wrong password gets WRONG_PASSWORD, and a flipped ciphertext byte is refused too', async () => {
    const kdf = newKdfParams({ name: 'scrypt', N: 2 ** 10, r: 8, p: 1 });
    const box = await sealJson(await deriveKey('right', kdf), { a: 1 }, 'x');
    await expect(openJson(await deriveKey('wrong', kdf), box, 'x', wrong)).rejects.toMatchObject({ code: 'WRONG_PASSWORD' });
    const flipped = { ...box, ciphertext: (box.ciphertext[0] === '0' ? '1' : '0') + box.ciphertext.slice(1) };
    await expect(openJson(await deriveKey('right', kdf), flipped, 'x', wrong)).rejects.toMatchObject({ code: 'WRONG_PASSWORD' });
  });

  it('uses fresh salts and IVs, and refuses KDF costs Tandem never writes', async () => {
    expect(newKdfParams().salt).not.toBe(newKdfParams().salt);
    expect(VAULT_KDF.N).toBe(2 ** 17);
    await expect(deriveKey('p', { ...newKdfParams(), N: 2 ** 24 })).rejects.toMatchObject({ code: 'BAD_SETTING' });
  });
});
