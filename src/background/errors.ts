/**
 * Errors a dapp sees, with the exact EIP-1193 / EIP-1474 codes, and the wallet's own errors.
 * Everything that crosses to a page goes through toRpcError(), so no stack or secret leaks.
 */
import { CodedError } from '../mpc/errors.js';
import { CosignerRefusedError } from '../channel/protocol-conversation.js';
import { ChannelError } from '../channel/errors.js';
import type { RpcErrorBody } from './api.js';

export const RPC_CODES = {
  userRejected: 4001,
  unauthorized: 4100,
  unsupportedMethod: 4200,
  disconnected: 4900,
  chainDisconnected: 4901,
  unknownChain: 4902,
  /** EIP-1474 "resource unavailable": the request is held (for approvers) or already queued. */
  resourceUnavailable: -32002,
  invalidParams: -32602,
  internal: -32603,
} as const;

/** An error answered to a dapp: `code` is the JSON-RPC / EIP-1193 number. */
export class ProviderRpcError extends Error {
  override name = 'ProviderRpcError';
  readonly code: number;
  readonly data: unknown;

  constructor(code: number, message: string, options: { data?: unknown; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.data = options.data;
  }

  toBody(): RpcErrorBody {
    return { code: this.code, message: this.message, ...(this.data === undefined ? {} : { data: this.data }) };
  }
}

export const userRejected = (what = 'The user rejected the request.') => new ProviderRpcError(RPC_CODES.userRejected, what);
export const unauthorized = (what = 'This site is not connected to Tandem: call eth_requestAccounts first.') => new ProviderRpcError(RPC_CODES.unauthorized, what);
export const unsupportedMethod = (method: string, why = 'Tandem does not support this method.') =>
  new ProviderRpcError(RPC_CODES.unsupportedMethod, `${method}: ${why}`);
export const invalidParams = (what: string) => new ProviderRpcError(RPC_CODES.invalidParams, `Invalid params: ${what}`);
export const unknownChain = (chainId: string) =>
  new ProviderRpcError(RPC_CODES.unknownChain, `Unrecognized chain ${chainId}: add it with wallet_addEthereumChain first.`);

/** What a dapp reads in `error.data` when its request waits for the wallet's approvers. */
export interface ApprovalPendingData {
  reason: 'APPROVAL_PENDING';
  requestId: string;
  state: 'pending-approval';
  /** The approvers' names, when the co-signer said them. */
  approvers?: string[];
  /** Until when approvers may decide (unix ms), when known. */
  expiresAt?: number;
}

/**
 * The co-signer holds the request for the wallet's approvers (policy `approvals`): nothing failed,
 * but the dapp gets no signature now. Once approved, the co-signer signs (and sends a transaction);
 * Tandem's Activity page follows it. The device's presignature for it is spent.
 */
export class ApprovalPendingError extends ProviderRpcError {
  override name = 'ApprovalPendingError';
  override readonly data: ApprovalPendingData;

  constructor(message: string, data: ApprovalPendingData, options: { cause?: unknown } = {}) {
    super(RPC_CODES.resourceUnavailable, message, { data, ...options });
    this.data = data;
  }
}

/** Wallet-side failures that are not a dapp's fault: the popup shows them, the dapp gets -32603 with the reason. */
export type WalletErrorCode =
  | 'COSIGNER_UNREACHABLE'
  | 'COSIGNER_HTTP'
  | 'WRONG_PASSWORD' | 'LOCKED' | 'NOT_INITIALISED' | 'ALREADY_INITIALISED' | 'INTERRUPTED' | 'BAD_RECOVERY_SECRET' | 'BAD_RECOVERY_KIT' | 'UNKNOWN_REQUEST' | 'BAD_SETTING'
  /** Approvals for other wallets: this browser is not an approver yet, or already is one. */
  | 'NOT_AN_APPROVER' | 'ALREADY_AN_APPROVER'
  /** A held request is not the one the page showed (or is no longer waiting): look again before deciding. */
  | 'REQUEST_CHANGED'
  /** A signed transaction from the co-signer that this wallet did not sign, or that does not match its request. */
  | 'BAD_SIGNED_TRANSACTION';

export class WalletError extends CodedError<WalletErrorCode> {
  override name = 'WalletError';
}

/** The body a dapp or popup receives for any failure: typed, actionable, and never a stack. */
export function toRpcError(error: unknown): RpcErrorBody & { reason?: string } {
  if (error instanceof ProviderRpcError) return error.toBody();
  if (error instanceof CosignerRefusedError && error.code === 'APPROVAL_PENDING' && error.rule) {
    // Normally explained (with the approvers' names) by approvalPendingError() before it gets here.
    const data: ApprovalPendingData = { reason: 'APPROVAL_PENDING', requestId: error.rule, state: 'pending-approval' };
    return { code: RPC_CODES.resourceUnavailable, message: `${error.shortMessage} See Tandem's Activity page.`, data, reason: 'APPROVAL_PENDING' };
  }
  if (error instanceof CosignerRefusedError) {
    return {
      code: RPC_CODES.internal,
      message: `The co-signer refused to sign: ${error.shortMessage}`,
      data: { reason: 'COSIGNER_REFUSED', refusal: error.code, ...(error.rule ? { rule: error.rule } : {}) },
      reason: 'COSIGNER_REFUSED',
    };
  }
  if (error instanceof WalletError) return { code: RPC_CODES.internal, message: error.shortMessage, data: { reason: error.code }, reason: error.code };
  if (error instanceof ChannelError) {
    const message = error.code === 'CHANNEL_EXPIRED' ? 'The co-signer did not answer before the request expired. Nothing was signed; try again when it is back online.' : error.shortMessage;
    return { code: RPC_CODES.internal, message, data: { reason: error.code }, reason: error.code };
  }
  if (error instanceof CodedError) return { code: RPC_CODES.internal, message: error.shortMessage, data: { reason: error.code }, reason: error.code };
  return { code: RPC_CODES.internal, message: 'Internal error in the wallet. Nothing was signed.', data: { reason: 'INTERNAL' }, reason: 'INTERNAL' };
}
