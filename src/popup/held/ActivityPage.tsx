import type { ActivityView } from '../../background/api.js';
import { UnlockForm } from '../Unlock.js';
import { call } from '../worker-client.js';
import { HeldRequestCard } from './HeldRequestCard.js';
import { useLiveView } from './use-live-view.js';

const POLL_MS = 1_500;

/** `#/activity`: this wallet's requests that the co-signer holds for approvers, and what became of them. */
export function ActivityPage() {
  const { view, locked, error, reload } = useLiveView<ActivityView>((fresh) => call({ kind: 'popup', action: 'activity', refresh: fresh }), POLL_MS);

  return (
    <main class="page page-toolbar">
      <nav class="held-nav">
        <a href="#/" data-testid="back-to-wallet">
          ← Wallet
        </a>
        <a href="#/approver">Approvals to give</a>
      </nav>
      <h1>Activity</h1>
      <p class="muted">Requests of this wallet that its policy holds for approvers. Once approved, the co-signer signs them (and sends a transaction).</p>
      {locked && <UnlockForm onUnlocked={() => void reload()} />}
      {error && (
        <p class="error" role="alert" data-testid="activity-error">
          {error}
        </p>
      )}
      {!view && !locked && !error && <p class="muted">Loading…</p>}
      {view && !locked && (
        <>
          <p data-testid="activity-pending-count" data-count={view.pendingForYou}>
            {view.pendingForYou === 1 ? '1 request waits' : `${view.pendingForYou} requests wait`} for approvers.
          </p>
          {view.error && (
            <p class="notice" role="status" data-testid="activity-stale">
              Could not ask the co-signer just now: {view.error.message} Showing what it said last.
            </p>
          )}
          {view.requests.length === 0 ? (
            <p class="muted" data-testid="activity-empty">
              Nothing held for approvers.
            </p>
          ) : (
            <div class="stack" data-testid="activity-list">
              {view.requests.map((request) => (
                <HeldRequestCard key={request.requestId} view={request} testid={`activity-request-${request.requestId}`} expanded={false} />
              ))}
            </div>
          )}
          <button type="button" class="small" data-testid="activity-refresh" onClick={() => void reload()}>
            Refresh
          </button>
        </>
      )}
    </main>
  );
}
