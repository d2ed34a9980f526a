import type { RpcErrorBody } from '../background/api.js';

/** The EIP-1193 / JSON-RPC codes the content scripts raise themselves. */
export const RpcErrorCode = {
  userRejected: 4001,
  unauthorized: 4100,
  unsupportedMethod: 4200,
  disconnected: 4900,
  chainDisconnected: 4901,
  invalidParams: -32602,
  internal: -32603,
} as const;

export const EXTENSION_GONE_MESSAGE = 'The Tandem extension was disconnected from this page. Reload the page.';

/**
 * The error every provider request rejects with (EIP-1193 ProviderRpcError). The code is numeric
 * because EIP-1193 and every dapp library match on the numbers, unlike the string codes elsewhere.
 */
export class ProviderRpcError extends Error {
  override name = 'ProviderRpcError';
  readonly code: number;
  readonly data: unknown;
  /** Same as message: the wallet's text is already written for a person. */
  readonly shortMessage: string;

  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.code = code;
    this.data = data;
    this.shortMessage = message;
  }

  static fromBody(body: RpcErrorBody): ProviderRpcError {
    return new ProviderRpcError(body.code, body.message, body.data);
  }

  toJSON(): RpcErrorBody {
    return this.data === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, data: this.data };
  }
}

export function extensionGoneError(): RpcErrorBody {
  return { code: RpcErrorCode.disconnected, message: EXTENSION_GONE_MESSAGE };
}
