import type { BundleCallState, CallsBundleView } from '../background/api.js';
import { decodedCallSummary, shortenAddress, withSymbol } from './format.js';

const stateText: Record<BundleCallState, string> = {
  queued: 'Queued',
  signing: 'Signing…',
  signed: 'Sending…',
  sent: 'Sent',
  held: 'Waiting for the wallet’s approvers',
  failed: 'Failed',
  skipped: 'Not sent',
};

const statusText: Record<number, string> = {
  100: 'Pending',
  200: 'Confirmed',
  400: 'Failed: nothing was included on chain',
  500: 'Reverted',
  600: 'Partly done: some calls landed, others did not',
};

export function bundleStatusLabel(status: number): string {
  return statusText[status] ?? String(status);
}

/** An EIP-5792 bundle's calls: what each does, its state, its transaction hash, and the receipt's outcome. */
export function BundleCalls({ bundle }: { bundle: CallsBundleView }) {
  return (
    <section class="stack" data-testid="bundle">
      <p data-testid="bundle-status" data-status={bundle.status}>
        Status: {bundleStatusLabel(bundle.status)}
      </p>
      <ol class="calls">
        {bundle.calls.map((call, index) => (
          <li key={index} data-testid={`bundle-call-${index}`} data-state={call.state} data-receipt={call.receiptStatus ?? ''}>
            <p>
              {call.details.decoded ? decodedCallSummary(call.details.decoded) : `${withSymbol(call.details.valueFormatted, call.details.chain.symbol)} to ${call.details.to ? shortenAddress(call.details.to) : 'a new contract'}`}
            </p>
            <p class="muted" data-testid="bundle-call-state">
              {stateText[call.state]}
              {call.receiptStatus === 'success' ? ', mined' : call.receiptStatus === 'reverted' ? ', reverted on chain' : ''}
            </p>
            {call.transactionHash && <code data-testid="bundle-call-hash">{call.transactionHash}</code>}
            {call.heldRequestId && (
              <p class="notice">
                Request <code>{call.heldRequestId}</code>: <a href="#/activity">Activity</a>
              </p>
            )}
            {call.error && call.state !== 'held' && (
              <p class="error" data-testid="bundle-call-error">
                {call.error}
              </p>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}
