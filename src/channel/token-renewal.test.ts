import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TOKEN_RENEW_MARGIN_MS, TokenRenewal } from './token-renewal.js';

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(1_000_000);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('TokenRenewal', () => {
  it('renews a margin before expiry, then again before the renewed expiry', async () => {
    let expiresAt = Date.now() + 10 * 60_000;
    const renewedAt: number[] = [];
    const renewal = new TokenRenewal(
      () => expiresAt,
      async () => {
        renewedAt.push(Date.now());
        expiresAt = Date.now() + 10 * 60_000;
      },
    ).start();
    await vi.advanceTimersByTimeAsync(10 * 60_000 - TOKEN_RENEW_MARGIN_MS - 1);
    expect(renewedAt).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(renewedAt).toEqual([1_000_000 + 10 * 60_000 - TOKEN_RENEW_MARGIN_MS]);
    await vi.advanceTimersByTimeAsync(10 * 60_000 - TOKEN_RENEW_MARGIN_MS);
    expect(renewedAt).toHaveLength(2);
    renewal.stop();
  });

  it('tries a failed renewal again a second later until it works', async () => {
    let expiresAt = Date.now() + TOKEN_RENEW_MARGIN_MS + 5_000;
    let attempts = 0;
    const renewal = new TokenRenewal(
      () => expiresAt,
      async () => {
        attempts += 1;
        if (attempts < 3) throw new Error('the co-signer is away');
        expiresAt = Date.now() + 3_600_000;
      },
    ).start();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(attempts).toBe(1);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(attempts).toBe(3);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(attempts).toBe(3);
    renewal.stop();
  });

  it('does nothing once stopped', async () => {
    const renew = vi.fn(async () => undefined);
    const renewal = new TokenRenewal(() => Date.now(), renew).start();
    renewal.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(renew).not.toHaveBeenCalled();
  });
});
