import type { ApprovalView } from '../../background/api.js';
import { approvalStageLabel } from '../format.js';
import { BundleCalls } from '../BundleCalls.js';

/** What happens after the user approved: the stage while it runs, then the outcome. */
export function Progress({ view }: { view: ApprovalView }) {
  const running = view.stage === 'waiting-cosigner' || view.stage === 'signing' || view.stage === 'broadcasting';
  return (
    <section class={`progress-block stage-${view.stage}`} aria-live="polite">
      <p class="stage" data-testid="approval-stage" data-stage={view.stage}>
        {running && <span class="spinner" aria-hidden="true" />}
        {approvalStageLabel(view.stage)}
      </p>
      {view.stage === 'held' && (
        <p class="notice" data-testid="approval-held">
          {view.error?.message ?? 'The co-signer keeps this request for the wallet’s approvers.'}{' '}
          <a href="#/activity" data-testid="approval-activity-link">
            Open Activity
          </a>
        </p>
      )}
      {view.bundle && <BundleCalls bundle={view.bundle} />}
      {view.stage === 'done' && view.result && (
        <p class="result">
          {view.details.kind === 'transaction' ? 'Transaction hash' : 'Signature'}:{' '}
          <code data-testid="approval-result">{view.result}</code>
        </p>
      )}
    </section>
  );
}
