import type { RpcErrorBody } from '../background/api.js';

/**
 * Every error the popup shows. `code` is the worker's numeric RPC error code (4001, 4100, -32603, …),
 * so it is not a CodedError, whose codes are strings; the shape is otherwise the same.
 */
export class PopupError extends Error {
  override name = 'PopupError';
  readonly code: number;
  readonly shortMessage: string;
  readonly details: string | undefined;
  /** Why the co-signer refused, when it did. */
  readonly reason: string | undefined;
  readonly data: unknown;

  constructor(code: number, shortMessage: string, options: { details?: string; reason?: string; data?: unknown; cause?: unknown } = {}) {
    super(options.details ? `${shortMessage}\n\nDetails: ${options.details}` : shortMessage, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.shortMessage = shortMessage;
    this.details = options.details;
    this.reason = options.reason;
    this.data = options.data;
  }

  static fromReply(error: RpcErrorBody & { reason?: string }): PopupError {
    return new PopupError(error.code, error.message, { reason: error.reason, data: error.data });
  }
}

/** JSON-RPC "internal error": used when the worker could not be reached or gave no answer. */
export const INTERNAL_ERROR = -32603;

/** The text to show a person for any error thrown while talking to the worker. */
export function errorText(error: unknown): string {
  if (error instanceof PopupError) return error.reason ? `${error.shortMessage} (${error.reason})` : error.shortMessage;
  if (error instanceof Error) return error.message;
  return String(error);
}
