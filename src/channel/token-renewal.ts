/**
 * Broker credentials are short-lived: a connection that lives longer must get new ones before its
 * token expires, or its next reconnection is refused. One timer per connection, re-armed after each
 * renewal; a failed renewal is tried again a second later until it works or the connection ends.
 */

/** Renew this long before the token expires. */
export const TOKEN_RENEW_MARGIN_MS = 60_000;
const RETRY_MS = 1_000;
/** setTimeout's ceiling (about 24.8 days). */
const MAX_DELAY_MS = 0x7fff_ffff;

export class TokenRenewal {
  readonly #expiresAt: () => number;
  readonly #renew: () => Promise<void>;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  /** `renew` gets new credentials and hands them to the transport for its next reconnection. */
  constructor(expiresAt: () => number, renew: () => Promise<void>) {
    this.#expiresAt = expiresAt;
    this.#renew = renew;
  }

  start(): this {
    this.#arm();
    return this;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #arm(): void {
    clearTimeout(this.#timer);
    if (this.#stopped) return;
    const delay = Math.max(RETRY_MS, this.#expiresAt() - TOKEN_RENEW_MARGIN_MS - Date.now());
    this.#timer = setTimeout(() => {
      this.#renew().then(
        () => this.#arm(),
        () => this.#arm(),
      );
    }, Math.min(delay, MAX_DELAY_MS));
    (this.#timer as { unref?: () => void }).unref?.();
  }
}
