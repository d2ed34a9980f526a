import { useState } from 'preact/hooks';
import type { ApproverView, HeldRequestView, HeldVerdict } from '../../background/api.js';
import { errorText } from '../errors.js';
import { UnlockForm } from '../Unlock.js';
import { call } from '../worker-client.js';
import { HeldRequestCard } from './HeldRequestCard.js';
import { useLiveView } from './use-live-view.js';

const POLL_MS = 1_500;

/** `#/approver`: this browser as an approver for other wallets: enroll with the operator's code, then the approvals to give. */
export function ApproverPage() {
  const live = useLiveView<ApproverView>((fresh) => call({ kind: 'popup', action: 'approver', refresh: fresh }), POLL_MS);
  const { view, locked, error } = live;

  return (
    <main class="page page-toolbar">
      <nav class="held-nav">
        <a href="#/" data-testid="back-to-wallet">
          ← Wallet
        </a>
        <a href="#/activity">Activity</a>
      </nav>
      <h1>Approvals to give</h1>
      {locked && <UnlockForm onUnlocked={() => void live.reload()} />}
      {error && (
        <p class="error" role="alert" data-testid="approver-error">
          {error}
        </p>
      )}
      {!view && !locked && !error && <p class="muted">Loading…</p>}
      {view && !locked && !view.enrolled && <EnrollForm cosignerUrl={view.cosignerUrl} onEnrolled={live.setView} />}
      {view && !locked && view.enrolled && <Approvals view={view} onChange={live.setView} />}
    </main>
  );
}

function EnrollForm({ cosignerUrl, onEnrolled }: { cosignerUrl: string; onEnrolled: (view: ApproverView) => void }) {
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  const submit = async (event: Event) => {
    event.preventDefault();
    if (busy || !code.trim()) return;
    setBusy(true);
    setError(undefined);
    try {
      onEnrolled(await call({ kind: 'popup', action: 'enrollApprover', enrollmentCode: code.trim() }));
      setCode('');
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="stack" onSubmit={submit}>
      <p>
        Approve or reject other wallets’ requests that their policy holds for you. Enter the enrollment code the operator of the co-signer at{' '}
        <code data-testid="approver-cosigner-url">{cosignerUrl}</code> gave you. Your approver key is kept encrypted under this wallet’s password.
      </p>
      <label>
        Enrollment code for approvers
        <input type="text" data-testid="approver-enrollment-code" autoComplete="off" spellcheck={false} value={code} onInput={(event) => setCode(event.currentTarget.value)} />
      </label>
      {error && (
        <p class="error" role="alert" data-testid="approver-enroll-error">
          {error}
        </p>
      )}
      <button type="submit" class="primary" data-testid="approver-enroll" disabled={busy || !code.trim()}>
        {busy ? 'Enrolling…' : 'Become an approver'}
      </button>
    </form>
  );
}

function Approvals({ view, onChange }: { view: Extract<ApproverView, { enrolled: true }>; onChange: (view: ApproverView) => void }) {
  const [deciding, setDeciding] = useState<string>();
  /** Kept until the next decision: the polling that refreshes the list must not wipe it. */
  const [decideError, setDecideError] = useState<string>();

  const decide = async (request: HeldRequestView, verdict: HeldVerdict) => {
    if (deciding) return;
    setDeciding(request.requestId);
    setDecideError(undefined);
    try {
      onChange(await call({ kind: 'popup', action: 'decideHeld', requestId: request.requestId, verdict, payloadHash: request.payloadHash }));
    } catch (failure) {
      setDecideError(errorText(failure));
    } finally {
      setDeciding(undefined);
    }
  };

  return (
    <section class="stack">
      <p class="muted">
        Approver <strong data-testid="approver-name">{view.name}</strong> (<code data-testid="approver-id">{view.approverId}</code>)
      </p>
      <p data-testid="approver-pending-count" data-count={view.pendingForYou}>
        {view.pendingForYou === 1 ? '1 request waits' : `${view.pendingForYou} requests wait`} for your decision.
      </p>
      {decideError && (
        <p class="error" role="alert" data-testid="approver-decide-error">
          {decideError}
        </p>
      )}
      {view.error && (
        <p class="notice" role="status" data-testid="approver-stale">
          Could not ask the co-signer just now: {view.error.message} Showing what it said last.
        </p>
      )}
      {view.requests.length === 0 ? (
        <p class="muted" data-testid="approver-empty">
          No request has come for you yet. They arrive here, also while this browser was closed.
        </p>
      ) : (
        <div class="stack" data-testid="approver-list">
          {view.requests.map((request) => (
            <HeldRequestCard key={request.requestId} view={request} testid={`approver-request-${request.requestId}`} expanded={request.canDecide === true}>
              {request.yourVerdict && (
                <p data-testid="request-your-verdict" data-verdict={request.yourVerdict}>
                  You {request.yourVerdict === 'approve' ? 'approved' : 'rejected'} this request.
                </p>
              )}
              {request.canDecide && (
                <div class="row">
                  <button type="button" data-testid="request-reject" disabled={deciding !== undefined} onClick={() => decide(request, 'reject')}>
                    Reject
                  </button>
                  <button type="button" class="primary" data-testid="request-approve" disabled={deciding !== undefined} onClick={() => decide(request, 'approve')}>
                    {deciding === request.requestId ? 'Sending…' : 'Approve'}
                  </button>
                </div>
              )}
            </HeldRequestCard>
          ))}
        </div>
      )}
    </section>
  );
}
