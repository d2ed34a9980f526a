import { describe, expect, it } from 'vitest';
import { CosignerRefusedError } from '../../channel/protocol-conversation.js';
import { ApprovalPendingError, toRpcError } from '../errors.js';
import { approvalPendingError, approversPhrase } from './approval-pending.js';

const REQUEST_ID = '0123456789abcdef0123456789abcdef';
const refusal = () => new CosignerRefusedError('APPROVAL_PENDING', `This request waits for approval by 1 of alice (rule large); request id ${REQUEST_ID}.`, REQUEST_ID);
const alice = { approverId: 'a1', name: 'alice' };
const bob = { approverId: 'b2', name: 'bob' };
const carol = { approverId: 'c3', name: 'carol' };

describe('the dapp error for a request held for approvers', () => {
  it('names the approvers as a person would say it', () => {
    expect(approversPhrase([{ quorum: 1, approvers: [alice] }])).toBe('alice');
    expect(approversPhrase([{ quorum: 1, approvers: [alice, bob] }])).toBe('one of alice or bob');
    expect(approversPhrase([{ quorum: 2, approvers: [alice, bob, carol] }])).toBe('2 of alice, bob and carol');
    expect(approversPhrase([{ quorum: 2, approvers: [alice, bob] }])).toBe('all of alice and bob');
    expect(approversPhrase([
      { quorum: 1, approvers: [alice] },
      { quorum: 1, approvers: [bob] },
    ])).toBe('alice, and by bob');
  });

  it('is -32002 with the request id, the state and the approvers, and points at Activity', () => {
    const error = approvalPendingError(refusal(), 'transaction', { requestId: REQUEST_ID, quorums: [{ rule: 'large', quorum: 1, approvers: [alice] }], expiresAt: 1_700_000_000_000 });
    expect(error).toBeInstanceOf(ApprovalPendingError);
    expect(error.toBody()).toEqual({
      code: -32002,
      message: `This transaction is waiting for approval by alice (request ${REQUEST_ID}); it will be signed and sent once approved. See Tandem's Activity page.`,
      data: { reason: 'APPROVAL_PENDING', requestId: REQUEST_ID, state: 'pending-approval', approvers: ['alice'], expiresAt: 1_700_000_000_000 },
    });
    expect(toRpcError(error)).toEqual(error.toBody());
  });

  it('a signature is not "sent"', () => {
    const error = approvalPendingError(refusal(), 'message', { requestId: REQUEST_ID, quorums: [{ rule: 'r', quorum: 1, approvers: [alice] }], expiresAt: 1 });
    expect(error.message).toBe(`This message signature is waiting for approval by alice (request ${REQUEST_ID}); it will be signed once approved. See Tandem's Activity page.`);
  });

  it("without the co-signer's description, uses its sentence, still -32002 with the id", () => {
    const body = approvalPendingError(refusal(), 'typedData').toBody();
    expect(body.code).toBe(-32002);
    expect(body.message).toContain(REQUEST_ID);
    expect(body.data).toEqual({ reason: 'APPROVAL_PENDING', requestId: REQUEST_ID, state: 'pending-approval' });
    // And a refusal that reached toRpcError unexplained maps the same way.
    expect(toRpcError(refusal())).toMatchObject({ code: -32002, data: { requestId: REQUEST_ID, state: 'pending-approval' } });
  });
});
