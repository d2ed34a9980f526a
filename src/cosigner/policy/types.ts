import type { Address, Hex } from 'viem';

/**
 * What one wallet may sign. Every field is optional; a missing field restricts nothing,
 * an empty list allows nothing. Amounts are decimal strings of wei in the chain's native currency.
 */
export interface WalletPolicy {
  /** Largest native value one transaction may carry. */
  maxValuePerTxWei?: string;
  /** Largest native value all transactions on one chain may carry within a rolling 24 hours. */
  dailyLimitWei?: string;
  /** Who may receive: plain transfers, ERC-20/721 transfer recipients, approve spenders, permit spenders. */
  allowedRecipients?: Address[];
  /** Which contracts may be called (and verify typed data); contract deployment is refused when set. */
  allowedContracts?: Address[];
  allowedChainIds?: number[];
  /**
   * Whole days a key share may serve before it must be refreshed (counted from the last keygen,
   * refresh or restore). Past it the co-signer refuses to presign or sign until a refresh.
   */
  refreshEveryDays?: number;
  /**
   * Whole minutes (0 to 43200, i.e. 30 days) a device enrolled from the recovery kit waits before
   * the co-signer runs its restore: the window in which the owner or the operator can stop a restore
   * nobody asked for. Overrides the co-signer-wide default (`--restore-delay`) for this wallet.
   */
  restoreDelayMinutes?: number;
  /**
   * When true, a restore also waits until an operator approved that restoring device
   * (`devices approve-restore <deviceId>`), on top of the restore delay.
   */
  restoreNeedsOperator?: boolean;
  /**
   * Requests that need people besides the device: each rule a request matches must gather `quorum`
   * approvals from its `approvers` (approver ids) within `expiresAfterMinutes`, or it is not signed.
   * Checked after the rules above: a request they refuse is never held for approval.
   */
  approvals?: ApprovalRule[];
}

/** When a rule applies: every condition given must hold (an empty match applies to every request). */
export type ApprovalMatch = {
  kind?: 'transaction' | 'typedData' | 'message';
  /** The transaction's chain, or the typed data domain's chain. */
  chainIds?: number[];
  /** Transactions sending more than this native value. */
  valueAboveWei?: string;
  /** Transactions calling (with calldata) a contract not on this list, or deploying one. */
  contractNotIn?: Address[];
};

export type ApprovalRule = {
  /** A short name, shown to approvers and in the audit log. */
  id: string;
  /** The rule applies when any of these matches. */
  when: ApprovalMatch[];
  approvers: string[];
  quorum: number;
  /** How long approvers have. Default 1440 (a day). */
  expiresAfterMinutes?: number;
};

/** A transaction as the co-signer decoded it from the unsigned transaction it hashed itself. */
export interface TransactionPolicyRequest {
  kind: 'transaction';
  chainId: number;
  /** Absent (or null) for contract creation. */
  to?: Address | null;
  value: bigint;
  data?: Hex;
}

/** EIP-712 typed data as the co-signer hashed it. */
export interface TypedDataPolicyRequest {
  kind: 'typedData';
  domain: { chainId?: number | bigint; verifyingContract?: Address };
  /** With `message`, lets the recipient allow-list cover permit spenders. */
  primaryType?: string;
  message?: Record<string, unknown>;
}

/** An EIP-191 personal message. No policy rule restricts messages. */
export interface MessagePolicyRequest {
  kind: 'message';
}

export type PolicyRequest = TransactionPolicyRequest | TypedDataPolicyRequest | MessagePolicyRequest;

export interface PolicyContext {
  /** Native value this wallet already sent on the request's chain within DAILY_LIMIT_WINDOW_MS. */
  spentTodayWei: bigint;
}

export type PolicyRule = 'chain' | 'per-tx-limit' | 'daily-limit' | 'recipient' | 'contract';

export type PolicyDecision = { allowed: true } | { allowed: false; rule: PolicyRule; reason: string };

/** The daily limit looks back this far (rolling, so there is no midnight to game). */
export const DAILY_LIMIT_WINDOW_MS = 24 * 60 * 60 * 1000;
