import type { ChainConfig } from '../../background/api.js';

export function AddChainDetails({ chain }: { chain: ChainConfig }) {
  return (
    <section class="stack">
      <p>This site wants to add a network. Only add networks you trust: the RPC server sees your address and what you send.</p>
      <dl class="fields">
        <dt>Chain id</dt>
        <dd data-testid="chain-id">{chain.id}</dd>
        <dt>Name</dt>
        <dd data-testid="chain-name">{chain.name}</dd>
        <dt>RPC URL</dt>
        <dd>
          <code data-testid="chain-rpc-url">{chain.rpcUrl}</code>
        </dd>
        <dt>Currency</dt>
        <dd data-testid="chain-currency">
          {chain.nativeCurrency.name} ({chain.nativeCurrency.symbol}, {chain.nativeCurrency.decimals} decimals)
        </dd>
        {chain.blockExplorerUrl && (
          <>
            <dt>Explorer</dt>
            <dd>
              <code>{chain.blockExplorerUrl}</code>
            </dd>
          </>
        )}
      </dl>
    </section>
  );
}
