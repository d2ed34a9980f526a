/**
 * How long a device enrolled from a recovery kit waits before the co-signer runs its restore: the
 * window in which the real owner (or the operator, with `devices revoke`) can stop a restore they
 * did not start. One minute by default: long enough to notice an unexpected "restore pending", short
 * enough for a person waiting at the onboarding page. Operators of high-value wallets set hours.
 */
export const DEFAULT_RESTORE_DELAY_MS = 60_000;
