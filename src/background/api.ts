/**
 * The typed messages between the service worker and the two other parts of the extension.
 * Content scripts and popups reach the wallet only through these; nothing here carries key material,
 * except the private key a user exports on purpose to leave Tandem (`exportKey`, popup only).
 */

/** runtime.connect() name of the port each tab's isolated-world relay opens to the service worker. */
export const PROVIDER_PORT = 'tandem-provider';

/** window.postMessage envelopes between the page-world provider and the isolated-world relay. */
export const PAGE_SOURCE = 'tandem-page';
export const RELAY_SOURCE = 'tandem-relay';

export interface RpcErrorBody {
  code: number;
  message: string;
  data?: unknown;
}

/** Page -> relay -> service worker. `id` is unique per page load (crypto.randomUUID()). */
export interface RpcRequestMessage {
  kind: 'rpc';
  id: string;
  method: string;
  params?: unknown;
}

/**
 * Relay -> service worker after its port was cut (the worker restarted): the ids still waiting for an
 * answer. The worker answers each from what it persisted: still awaiting approval (the answer comes
 * later), finished (the stored answer), or lost mid-signature (a clean error).
 */
export interface RpcResumeMessage {
  kind: 'resume';
  ids: string[];
}

export type RelayToBackground = RpcRequestMessage | RpcResumeMessage;

export type ProviderEventName = 'connect' | 'disconnect' | 'chainChanged' | 'accountsChanged';

export type BackgroundToRelay =
  | { kind: 'response'; id: string; result: unknown }
  | { kind: 'response'; id: string; error: RpcErrorBody }
  | { kind: 'event'; event: ProviderEventName; data: unknown };

/** The internal method the page-world provider (and a reconnecting relay) asks for its state. */
export const PROVIDER_STATE_METHOD = 'tandem_providerState';

/** What the page-world provider needs at start, from the internal method PROVIDER_STATE_METHOD. */
export interface ProviderState {
  chainId: `0x${string}`;
  networkVersion: string;
  /** [] unless this origin is connected and the wallet unlocked. */
  accounts: `0x${string}`[];
  isUnlocked: boolean;
}

/** Page <-> relay envelopes on window.postMessage. */
export type PageToRelay = { source: typeof PAGE_SOURCE; message: RpcRequestMessage };
export type RelayToPage = { source: typeof RELAY_SOURCE; message: BackgroundToRelay };

// ---------------------------------------------------------------------------------------------
// Popup <-> service worker: runtime.sendMessage({ kind: 'popup', ... }) answered with PopupReply.

export interface ChainConfig {
  id: number;
  name: string;
  rpcUrl: string;
  nativeCurrency: { name: string; symbol: string; decimals: number };
  blockExplorerUrl?: string;
}

export type CosignerStatus = 'online' | 'offline' | 'unknown';

export interface WalletOverview {
  /** 'restoring': a restore from the recovery kit started in this profile and did not finish; onboarding resumes it. */
  status: 'uninitialised' | 'restoring' | 'locked' | 'unlocked';
  /** While 'restoring': the address being restored. */
  restoring?: `0x${string}`;
  /** Signing with the recovery kit here, without the co-signer. */
  emergency: boolean;
  address?: `0x${string}`;
  chainId: number;
  chains: ChainConfig[];
  cosignerUrl: string;
  cosignerStatus: CosignerStatus;
  autoLockMinutes: number;
  connectedOrigins: string[];
  /** Ids of approvals waiting for the user, oldest first. */
  pendingApprovals: string[];
  /**
   * 'lost' when keygen finished but the worker restarted before the recovery kit was saved: the
   * backup share lived only in its memory, so this wallet has no backup.
   */
  recoveryKit: 'saved' | 'pending' | 'lost';
  /** '2of2': no backup share exists at all (a wallet made elsewhere); a new recovery kit makes it 2-of-3. */
  walletKind: '2of2' | '2of3';
  /** The co-signer's reason, once it said this device is revoked: it can never sign again. */
  deviceRevoked?: string;
}

export type OnboardingStage =
  | 'opening-kit'
  | 'enrolling'
  | 'generating-key'
  | 'sealing-vault'
  | 'restore-delay'
  | 'restoring'
  /** Making a new recovery kit (refresh key shares) with the co-signer. */
  | 'resharing'
  | 'recovery-kit'
  | 'done'
  | 'failed';

export interface OnboardingProgress {
  stage: OnboardingStage;
  /** 0..1 for the progress bar. */
  fraction: number;
  address?: `0x${string}`;
  /** restore-delay: when the co-signer will run the restore (unix ms). */
  readyAt?: number;
  /** restore-delay: what the co-signer is waiting for besides time (its operator's approval), in its words. */
  notice?: string;
  error?: RpcErrorBody;
}

export interface Warning {
  code: 'UNLIMITED_APPROVAL' | 'CHAIN_MISMATCH' | 'EMPTY_CALLDATA_TO_CONTRACT' | 'SIMULATION_FAILED' | 'NOT_TEXT' | 'INSUFFICIENT_FUNDS' | 'SYMBOL_MISMATCH';
  message: string;
}

export interface DecodedCall {
  /** e.g. 'transfer', 'approve'. */
  name: string;
  signature: string;
  /** The token when the call is to an ERC-20 contract. */
  token?: { address: `0x${string}`; symbol?: string; decimals?: number };
  args: { name: string; type: string; value: string; formatted?: string }[];
}

export type ApprovalDetails =
  | { kind: 'connect' }
  | { kind: 'message'; address: `0x${string}`; text?: string; hex: `0x${string}` }
  | {
      kind: 'typedData';
      address: `0x${string}`;
      primaryType: string;
      domain: Record<string, unknown>;
      /** The message with bigints as decimal strings. */
      message: Record<string, unknown>;
      currentChainId: number;
    }
  | {
      kind: 'transaction';
      from: `0x${string}`;
      chain: { id: number; name: string; symbol: string };
      to?: `0x${string}`;
      toIsContract: boolean;
      /** wei, decimal */
      value: string;
      valueFormatted: string;
      data: `0x${string}`;
      decoded?: DecodedCall;
      nonce: number;
      gas: string;
      /** Set for a legacy (type 0) transaction, whose two fee fields below then both carry it. */
      gasPrice?: string;
      maxFeePerGas: string;
      maxPriorityFeePerGas: string;
      /** gas * maxFeePerGas, formatted in the native currency. */
      maxFeeFormatted: string;
      simulation: { ok: true; gasUsed: string } | { ok: false; error: string };
    }
  | { kind: 'addChain'; chain: ChainConfig }
  /** EIP-5792 wallet_sendCalls: every call decoded as a transaction, sent one after the other (nonces in order). */
  | {
      kind: 'calls';
      from: `0x${string}`;
      chain: { id: number; name: string; symbol: string };
      /** The bundle id the dapp will use with wallet_getCallsStatus. */
      bundleId: string;
      calls: TransactionApprovalDetails[];
      /** The calls' values together, and their maximum fees together, formatted in the native currency. */
      totalValueFormatted: string;
      totalMaxFeeFormatted: string;
    }
  /** EIP-747 wallet_watchAsset for an ERC-20. */
  | { kind: 'watchAsset'; chain: { id: number; name: string }; token: WatchedToken };

export type TransactionApprovalDetails = Extract<ApprovalDetails, { kind: 'transaction' }>;

/** An ERC-20 the user watches on one chain (wallet_watchAsset). */
export interface WatchedToken {
  chainId: number;
  address: `0x${string}`;
  symbol: string;
  decimals: number;
  /** The dapp's image URL, kept but not loaded by the popup. */
  image?: string;
}

/** A watched token with its balance, for the overview. */
export interface TokenBalance extends WatchedToken {
  /** In the token's smallest unit, decimal; absent when the chain did not answer. */
  balance?: string;
  balanceFormatted?: string;
}

/** One call of an EIP-5792 bundle, as the popup shows it. */
export type BundleCallState = 'queued' | 'signing' | 'signed' | 'sent' | 'held' | 'failed' | 'skipped';

export interface CallsBundleView {
  ref: string;
  id: string;
  origin: string;
  chainId: number;
  createdAt: number;
  /** EIP-5792 status: 100 pending, 200 confirmed, 400 offchain failure, 500 reverted, 600 partially reverted. */
  status: number;
  calls: {
    details: TransactionApprovalDetails;
    state: BundleCallState;
    transactionHash?: `0x${string}`;
    /** 'success' / 'reverted' once mined. */
    receiptStatus?: 'success' | 'reverted';
    /** The co-signer's request id while held for approvers. */
    heldRequestId?: string;
    error?: string;
  }[];
}

/**
 * 'held': the co-signer keeps the request for the wallet's approvers (APPROVAL_PENDING). Final for
 * this window and the dapp (which got -32002 with the request id); the Activity page follows it.
 */
export type ApprovalStage = 'pending' | 'waiting-cosigner' | 'signing' | 'broadcasting' | 'done' | 'rejected' | 'failed' | 'held';

export interface ApprovalView {
  /** This approval will be signed with the recovery kit, without the co-signer. */
  emergency: boolean;
  id: string;
  origin: string;
  method: string;
  createdAt: number;
  details: ApprovalDetails;
  warnings: Warning[];
  stage: ApprovalStage;
  cosignerStatus: CosignerStatus;
  /** Set when failed: what the user can act on (a co-signer refusal carries its reason here). */
  error?: RpcErrorBody;
  /** The signature or transaction hash once done. */
  result?: string;
  /** wallet_sendCalls once approved: the bundle and each call's state. */
  bundle?: CallsBundleView;
  /** Position among the approvals waiting, 1-based, and how many wait. */
  queue: { position: number; total: number };
}

export type PopupRequest =
  | { kind: 'popup'; action: 'overview' }
  | { kind: 'popup'; action: 'onboard'; password: string; cosignerUrl: string; enrollmentCode?: string }
  | { kind: 'popup'; action: 'onboardingProgress' }
  /** A fresh profile restores the wallet from its recovery kit (the file's text) with the co-signer. */
  | { kind: 'popup'; action: 'restore'; kit: string; recoverySecret: string; password: string; cosignerUrl: string }
  /** Refresh key shares: device and co-signer re-share the key with a new backup, handed out as a new kit (needs no kit). */
  | { kind: 'popup'; action: 'newRecoveryKit' }
  /** The user typed the recovery secret back; the worker answers with the kit to save. */
  | { kind: 'popup'; action: 'confirmRecovery'; recoverySecret: string }
  /** The kit was saved: the worker forgets the backup for good. */
  | { kind: 'popup'; action: 'finishOnboarding' }
  | { kind: 'popup'; action: 'unlock'; password: string }
  /** Co-signer gone: sign with the device and the backup share from the kit, here. */
  | { kind: 'popup'; action: 'enterEmergency'; kit: string; recoverySecret: string }
  | { kind: 'popup'; action: 'leaveEmergency' }
  /** Leave Tandem: the device share and the kit's backup share combined into the private key, shown once. */
  | { kind: 'popup'; action: 'exportKey'; kit: string; recoverySecret: string; password: string; confirmation: string }
  | { kind: 'popup'; action: 'lock' }
  | { kind: 'popup'; action: 'setAutoLock'; minutes: number }
  | { kind: 'popup'; action: 'setCosignerUrl'; cosignerUrl: string }
  | { kind: 'popup'; action: 'switchChain'; chainId: number }
  | { kind: 'popup'; action: 'revokeOrigin'; origin: string }
  | { kind: 'popup'; action: 'approval'; id: string }
  | { kind: 'popup'; action: 'decide'; id: string; approve: boolean }
  /** The Activity page: this wallet's requests held for approvers. `refresh` asks the co-signer now, else the last known list (kept current by its mail). */
  | { kind: 'popup'; action: 'activity'; refresh?: boolean }
  /** The header's counts, from what the worker last heard (it asks again in the background when that is old). */
  | { kind: 'popup'; action: 'heldCounts' }
  /** This browser as an approver for other wallets: whether it is one, and the requests it is an approver of. */
  | { kind: 'popup'; action: 'approver'; refresh?: boolean }
  /** Enrolls this browser as an approver with the operator's one-time code, at the configured co-signer. */
  | { kind: 'popup'; action: 'enrollApprover'; enrollmentCode: string }
  /** An approver's decision over the request exactly as shown: `payloadHash` must be the one on the page. */
  | { kind: 'popup'; action: 'decideHeld'; requestId: string; verdict: HeldVerdict; payloadHash: `0x${string}` }
  /** An EIP-5792 bundle by its wallet-side ref (wallet_showCallsStatus opens `#/calls/<ref>`), its status computed from the chain. */
  | { kind: 'popup'; action: 'callsBundle'; ref: string }
  /** The watched ERC-20s of the current chain with their balances. */
  | { kind: 'popup'; action: 'tokens' };

// ---------------------------------------------------------------------------------------------
// Requests held by the co-signer for approvers (policy `approvals`), as the Activity and approver pages show them.

export type HeldRequestState = 'pending-approval' | 'approved' | 'rejected' | 'expired' | 'signed' | 'broadcast' | 'failed';
export type HeldVerdict = 'approve' | 'reject';

/**
 * The payload decoded as the approval pages show it; a transaction without a simulation (it runs
 * later, against a later chain state).
 */
export type HeldDetails = Extract<ApprovalDetails, { kind: 'message' | 'typedData' }> | Omit<Extract<ApprovalDetails, { kind: 'transaction' }>, 'simulation'>;

export interface HeldRequestView {
  requestId: string;
  state: HeldRequestState;
  /** The wallet the request signs for. */
  walletAddress: `0x${string}` | null;
  createdAt: number;
  expiresAt: number;
  updatedAt: number;
  /** The site that asked, when this browser made the request. */
  origin?: string;
  /** Absent when the payload does not hash to what the co-signer says (then `tampered` says so). */
  details?: HeldDetails;
  warnings: Warning[];
  tampered?: string;
  /** The hash of the exact payload shown: a decision names it. */
  payloadHash: `0x${string}`;
  /** Who must agree: `quorum` of `approvers`, per rule of the wallet's policy. */
  quorums: { rule: string; quorum: number; approvers: { approverId: string; name: string }[] }[];
  decisions: { approverId: string; name: string; verdict: HeldVerdict; decidedAt: number }[];
  transactionHash?: `0x${string}`;
  signature?: `0x${string}`;
  /** Why it failed, in the co-signer's words. */
  error?: string;
  /** This browser sent the signed transaction itself (the co-signer has no RPC for its chain), or tried to. */
  sentHere?: { at: number; transactionHash: `0x${string}` } | { at: number; error: string };
  /** On the approver page: this approver's own decision, and whether it can still decide. */
  yourVerdict?: HeldVerdict;
  canDecide?: boolean;
}

export interface ActivityView {
  requests: HeldRequestView[];
  /** How many of them still wait for approvers. */
  pendingForYou: number;
  /** When the co-signer last said (unix ms); 0 when it has not yet. */
  updatedAt: number;
  /** Why the list could not be refreshed just now (the last known one is shown). */
  error?: RpcErrorBody;
}

export interface HeldCounts {
  /** This wallet's requests waiting for approvers; undefined while locked or not yet known. */
  walletPending?: number;
  /** Requests waiting for this browser's decision as an approver; undefined when it is none. */
  approverPending?: number;
}

export type ApproverView =
  | { enrolled: false; cosignerUrl: string }
  | {
      enrolled: true;
      approverId: string;
      name: string;
      cosignerUrl: string;
      requests: HeldRequestView[];
      /** How many wait for this approver's decision. */
      pendingForYou: number;
      updatedAt: number;
      error?: RpcErrorBody;
    };

/** The recovery kit: the backup share encrypted under the recovery secret, as a downloadable JSON file. */
export interface RecoveryKitFile {
  filename: string;
  contents: string;
}

/** What the user types to export the private key: the popup shows it, the worker requires it exactly. */
export const EXPORT_KEY_CONFIRMATION = 'EXPORT MY PRIVATE KEY';

/** The wallet's private key (0x + 64 hex), for a user leaving Tandem: shown once, never stored. */
export interface ExportedKey {
  address: `0x${string}`;
  privateKey: `0x${string}`;
}

export interface PopupReplies {
  overview: WalletOverview;
  onboard: OnboardingProgress;
  onboardingProgress: OnboardingProgress & { recoverySecret?: string };
  restore: OnboardingProgress;
  newRecoveryKit: OnboardingProgress;
  confirmRecovery: RecoveryKitFile;
  finishOnboarding: WalletOverview;
  unlock: WalletOverview;
  enterEmergency: WalletOverview;
  leaveEmergency: WalletOverview;
  exportKey: ExportedKey;
  lock: WalletOverview;
  setAutoLock: WalletOverview;
  setCosignerUrl: WalletOverview;
  switchChain: WalletOverview;
  revokeOrigin: WalletOverview;
  approval: ApprovalView;
  decide: ApprovalView;
  activity: ActivityView;
  heldCounts: HeldCounts;
  approver: ApproverView;
  enrollApprover: ApproverView;
  decideHeld: ApproverView;
  callsBundle: CallsBundleView;
  tokens: TokenBalance[];
}

export type PopupReply<A extends PopupRequest['action']> = { ok: true; value: PopupReplies[A] } | { ok: false; error: RpcErrorBody & { reason?: string } };

/** Popup page URL: `popup.html#/approve/<id>`, `#/onboarding`, `#/unlock`, or `#/` (the toolbar popup). */
export const POPUP_PAGE = 'popup.html';
