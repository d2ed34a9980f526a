/** Per-wallet signing policies: pure functions, no I/O. */
export { evaluatePolicy } from './evaluate.js';
export { validatePolicy } from './validate.js';
export { decodeTokenCall, type TokenCall } from './token-calls.js';
export { InvalidPolicyError, PolicyError, PolicyRequestError } from './errors.js';
export {
  DAILY_LIMIT_WINDOW_MS,
  type MessagePolicyRequest,
  type PolicyContext,
  type PolicyDecision,
  type PolicyRequest,
  type PolicyRule,
  type TransactionPolicyRequest,
  type TypedDataPolicyRequest,
  type WalletPolicy,
} from './types.js';
