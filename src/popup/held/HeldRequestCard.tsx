import type { ComponentChildren } from 'preact';
import type { HeldDetails, HeldRequestView } from '../../background/api.js';
import { MessageDetails } from '../approval/MessageDetails.js';
import { TransactionDetails } from '../approval/TransactionDetails.js';
import { TypedDataDetails } from '../approval/TypedDataDetails.js';
import { Warnings } from '../approval/Warnings.js';
import { decisionText, heldStateLabel, heldSummary, heldTitle, quorumText, timeText } from './held-format.js';

/** The same decoded views as the approval pages. */
function HeldPayload({ details }: { details: HeldDetails }) {
  switch (details.kind) {
    case 'message':
      return <MessageDetails {...details} />;
    case 'typedData':
      return <TypedDataDetails {...details} />;
    case 'transaction':
      return <TransactionDetails {...details} />;
  }
}

/**
 * One held request: its state, what it signs (decoded, opened when `expanded`), who must agree and
 * who decided when, and the outcome (transaction hash, signature, or why it failed). `children`
 * are the approver's buttons.
 */
export function HeldRequestCard({ view, testid, expanded, children }: { view: HeldRequestView; testid: string; expanded: boolean; children?: ComponentChildren }) {
  return (
    <article class="card held" data-testid={testid} data-request-id={view.requestId} data-state={view.state}>
      <header class="held-header">
        <h3>{heldTitle(view)}</h3>
        <span class={`held-state state-${view.state}`} data-testid="request-state" data-state={view.state}>
          {heldStateLabel(view.state)}
        </span>
      </header>
      {view.origin && (
        <p class="origin" data-testid="request-origin">
          {view.origin}
        </p>
      )}
      <p class="muted small">
        Request <code data-testid="request-id">{view.requestId}</code>, {timeText(view.createdAt)}
        {view.state === 'pending-approval' && <>; approvers may decide until {timeText(view.expiresAt)}</>}
      </p>

      {view.tampered ? (
        <p class="error" role="alert" data-testid="request-tampered">
          {view.tampered}
        </p>
      ) : (
        <>
          <Warnings warnings={view.warnings} />
          <details class="held-details" open={expanded}>
            <summary data-testid="request-summary">{heldSummary(view.details)}</summary>
            {view.details && <HeldPayload details={view.details} />}
          </details>
        </>
      )}

      <section class="held-approvals">
        <p data-testid="request-quorum">Needs {view.quorums.map(quorumText).join(' and ')}</p>
        {view.decisions.length > 0 && (
          <ul data-testid="request-decisions">
            {view.decisions.map((decision) => (
              <li key={decision.approverId} data-testid={`decision-${decision.approverId}`} data-verdict={decision.verdict}>
                {decisionText(decision)} at {timeText(decision.decidedAt)}
              </li>
            ))}
          </ul>
        )}
      </section>

      {view.transactionHash && (
        <p class="result">
          Transaction hash: <code data-testid="request-tx-hash">{view.transactionHash}</code>
        </p>
      )}
      {view.signature && !view.transactionHash && (
        <p class="result">
          Signature: <code data-testid="request-signature">{view.signature}</code>
        </p>
      )}
      {view.sentHere &&
        ('transactionHash' in view.sentHere ? (
          <p class="ok" data-testid="request-sent-here">
            Sent from this browser at {timeText(view.sentHere.at)}.
          </p>
        ) : (
          <p class="error" data-testid="request-sent-here">
            Sending it from this browser failed: {view.sentHere.error}
          </p>
        ))}
      {view.error && (
        <p class="error" role="alert" data-testid="request-error">
          {view.error}
        </p>
      )}
      {children}
    </article>
  );
}
