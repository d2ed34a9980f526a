import type { ApprovalDetails } from '../../background/api.js';

type WatchAsset = Extract<ApprovalDetails, { kind: 'watchAsset' }>;

/** wallet_watchAsset: the token to list in the overview. Its image is not loaded (a site's URL would learn who looks). */
export function WatchAssetDetails({ token, chain }: WatchAsset) {
  return (
    <section class="stack">
      <p>Add this token to your wallet's overview, with its balance?</p>
      <dl class="fields">
        <dt>Symbol</dt>
        <dd data-testid="asset-symbol">{token.symbol}</dd>
        <dt>Contract</dt>
        <dd>
          <code class="address" data-testid="asset-address">
            {token.address}
          </code>
        </dd>
        <dt>Decimals</dt>
        <dd data-testid="asset-decimals">{token.decimals}</dd>
        <dt>Network</dt>
        <dd>
          {chain.name} ({chain.id})
        </dd>
      </dl>
    </section>
  );
}
