import type { ApprovalDetails } from '../../background/api.js';
import { decodedCallSummary, shortenAddress, withSymbol } from '../format.js';
import { TransactionDetails } from './TransactionDetails.js';

type CallsApproval = Extract<ApprovalDetails, { kind: 'calls' }>;

/** wallet_sendCalls: every call decoded as a single transaction is, one after the other, then the totals. */
export function CallsDetails(bundle: CallsApproval) {
  return (
    <section class="stack">
      <p class="note" data-testid="calls-summary">
        <span data-testid="calls-count" data-count={bundle.calls.length}>
          {bundle.calls.length} {bundle.calls.length === 1 ? 'call' : 'calls'}
        </span>{' '}
        on {bundle.chain.name} ({bundle.chain.id}), sent one after the other (not atomic: an earlier call can land even if a later one fails).
      </p>
      <dl class="fields">
        <dt>Total amount</dt>
        <dd data-testid="calls-total-value">{withSymbol(bundle.totalValueFormatted, bundle.chain.symbol)}</dd>
        <dt>Max network fees</dt>
        <dd data-testid="calls-total-fee">{withSymbol(bundle.totalMaxFeeFormatted, bundle.chain.symbol)}</dd>
      </dl>
      <ol class="calls">
        {bundle.calls.map((call, index) => (
          <li key={index} data-testid={`call-${index}`}>
            <details open={bundle.calls.length <= 3}>
              <summary>
                Call {index + 1}: {call.decoded ? decodedCallSummary(call.decoded) : `${withSymbol(call.valueFormatted, call.chain.symbol)} to ${call.to ? shortenAddress(call.to) : 'a new contract'}`}
              </summary>
              <TransactionDetails {...call} />
            </details>
          </li>
        ))}
      </ol>
    </section>
  );
}
