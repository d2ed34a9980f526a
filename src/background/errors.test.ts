import { describe, expect, it } from 'vitest';
import { ChannelError } from '../channel/errors.js';
import { CosignerRefusedError } from '../channel/protocol-conversation.js';
import { ProviderRpcError, RPC_CODES, WalletError, toRpcError, unknownChain, userRejected } from './errors.js';

describe('errors a dapp sees', () => {
  it('keeps the exact EIP-1193 codes', () => {
    expect(toRpcError(userRejected())).toMatchObject({ code: 4001 });
    expect(toRpcError(unknownChain('0x999'))).toMatchObject({ code: 4902, message: expect.stringContaining('0x999') });
    expect(toRpcError(new ProviderRpcError(RPC_CODES.invalidParams, 'Invalid params: x'))).toEqual({ code: -32602, message: 'Invalid params: x' });
  });

  it('a co-signer refusal carries its reason and rule', () => {
    const body = toRpcError(new CosignerRefusedError('POLICY', 'over the per-transaction limit of 1 ETH', 'maxValuePerTx'));
    expect(body).toMatchObject({ code: -32603, reason: 'COSIGNER_REFUSED', data: { reason: 'COSIGNER_REFUSED', refusal: 'POLICY', rule: 'maxValuePerTx' } });
    expect(body.message).toContain('over the per-transaction limit of 1 ETH');
  });

  it('an expired request says nothing was signed; wallet errors keep their code', () => {
    expect(toRpcError(new ChannelError('CHANNEL_EXPIRED', 'expired')).message).toMatch(/Nothing was signed/);
    expect(toRpcError(new WalletError('WRONG_PASSWORD', 'Wrong password.'))).toMatchObject({ code: -32603, reason: 'WRONG_PASSWORD', message: 'Wrong password.' });
  });

  it('an unexpected error leaks neither its message nor its stack', () => {
    const body = toRpcError(new Error('share=0xdeadbeef at secret.ts:12'));
    expect(JSON.stringify(body)).not.toContain('deadbeef');
    expect(body).toMatchObject({ code: -32603, reason: 'INTERNAL' });
  });
});
