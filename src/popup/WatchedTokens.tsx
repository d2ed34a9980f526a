import { useEffect, useState } from 'preact/hooks';
import type { TokenBalance } from '../background/api.js';
import { errorText } from './errors.js';
import { call } from './worker-client.js';

/** The overview's tokens: those a site added with wallet_watchAsset (and the user approved), on the current network, with balances. */
export function WatchedTokens({ chainId }: { chainId: number }) {
  const [tokens, setTokens] = useState<TokenBalance[]>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    call({ kind: 'popup', action: 'tokens' }).then(setTokens, (failure: unknown) => setError(errorText(failure)));
  }, [chainId]);
  return (
    <section>
      <h2 class="label">Tokens</h2>
      {error && <p class="error">{error}</p>}
      {tokens && tokens.length === 0 && (
        <p class="muted" data-testid="watched-tokens-empty">
          No tokens added on this network.
        </p>
      )}
      {tokens && tokens.length > 0 && (
        <ul class="sites" data-testid="watched-tokens">
          {tokens.map((token) => (
            <li key={token.address} data-testid={`token-${token.address}`} data-address={token.address}>
              <span data-testid="token-symbol">{token.symbol}</span>{' '}
              <span data-testid="token-balance" data-balance={token.balance ?? ''}>
                {token.balanceFormatted ?? 'balance unavailable'}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
