import { useEffect, useState } from 'preact/hooks';
import type { ApprovalStage, ApprovalView } from '../background/api.js';
import { Details, detailsTitle } from './approval/Details.js';
import { Progress } from './approval/Progress.js';
import { Warnings } from './approval/Warnings.js';
import { CosignerStatusBadge } from './CosignerStatus.js';
import { errorText } from './errors.js';
import { errorReason, queueLabel } from './format.js';
import { UnlockForm } from './Unlock.js';
import { usePoll } from './use-poll.js';
import { call } from './worker-client.js';

const POLL_MS = 150;
/** Long enough to see that it worked, short enough not to be in the way. */
const CLOSE_AFTER_DONE_MS = 600;

function isFinal(stage: ApprovalStage): boolean {
  return stage === 'done' || stage === 'rejected' || stage === 'failed' || stage === 'held';
}

function failureText(view: ApprovalView): string | undefined {
  if (view.stage !== 'failed') return undefined;
  if (!view.error) return 'The request failed.';
  const reason = errorReason(view.error);
  return reason ? `${view.error.message} Reason: ${reason}` : view.error.message;
}

/**
 * The buttons work only after the window has been visible this long: a site that opens a request
 * just as the user clicks elsewhere must not get that click as an approval.
 */
const ARM_AFTER_MS = 500;

function useArmedAfterVisible(): boolean {
  const [armed, setArmed] = useState(false);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(timer);
      if (document.visibilityState === 'visible') timer = setTimeout(() => setArmed(true), ARM_AFTER_MS);
    };
    arm();
    document.addEventListener('visibilitychange', arm);
    return () => {
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', arm);
    };
  }, []);
  return armed;
}

/** `#/approve/<id>`: one request, in its own window opened by the worker. */
export function ApprovalPage({ id }: { id: string }) {
  const [locked, setLocked] = useState(false);
  const [view, setView] = useState<ApprovalView>();
  /** The user decided in this window, or the request was already past its decision when the window opened. */
  const [decided, setDecided] = useState(false);
  const [deciding, setDeciding] = useState(false);
  const [error, setError] = useState<string>();
  const armed = useArmedAfterVisible();

  const load = async () => {
    try {
      const latest = await call({ kind: 'popup', action: 'approval', id });
      setView(latest);
      if (latest.stage !== 'pending') setDecided(true);
    } catch (failure) {
      setError(errorText(failure));
    }
  };

  useEffect(() => {
    call({ kind: 'popup', action: 'overview' }).then(
      (overview) => (overview.status === 'locked' ? setLocked(true) : load()),
      (failure: unknown) => setError(errorText(failure)),
    );
  }, [id]);

  usePoll(decided && view !== undefined && !isFinal(view.stage) && !error, POLL_MS, async () => {
    try {
      setView(await call({ kind: 'popup', action: 'approval', id }));
    } catch (failure) {
      setError(errorText(failure));
    }
  });

  const stage = view?.stage;
  useEffect(() => {
    if (stage === 'rejected') window.close();
    if (stage !== 'done') return;
    // A bundle where a call failed or waits for approvers stays open: the user should see which.
    if (view?.bundle?.calls.some((call) => call.state === 'failed' || call.state === 'held' || call.state === 'skipped')) return;
    const timer = setTimeout(() => window.close(), CLOSE_AFTER_DONE_MS);
    return () => clearTimeout(timer);
  }, [stage]);

  const decide = async (approve: boolean) => {
    if (deciding) return;
    setDeciding(true);
    setError(undefined);
    try {
      const latest = await call({ kind: 'popup', action: 'decide', id, approve });
      if (!approve) {
        window.close();
        return;
      }
      setView(latest);
      setDecided(true);
    } catch (failure) {
      setError(errorText(failure));
      setDeciding(false);
    }
  };

  if (locked) {
    return (
      <main class="page page-window">
        <p class="muted">A site is waiting for your answer. Unlock to see the request.</p>
        <UnlockForm
          onUnlocked={() => {
            setLocked(false);
            void load();
          }}
        />
      </main>
    );
  }

  const failure = (view && failureText(view)) ?? error;
  const queue = view && queueLabel(view.queue);
  const pending = view?.stage === 'pending' && !decided;

  return (
    <main class="page page-window">
      {view && (
        <header class="approval-header">
          <div class="approval-title">
            <h1 data-testid="approval-kind" data-kind={view.details.kind}>
              {detailsTitle(view)}
            </h1>
            {queue && <span data-testid="queue-position">{queue}</span>}
          </div>
          <p class="origin" data-testid="approval-origin">
            {view.origin}
          </p>
          <CosignerStatusBadge status={view.cosignerStatus} />
        </header>
      )}
      {!view && !failure && <p class="muted">Loading…</p>}

      {view?.emergency && (
        <p class="error" role="alert" data-testid="approval-emergency">
          EMERGENCY MODE: approving signs with your recovery kit on this device, without the co-signer.
        </p>
      )}
      {view && <Warnings warnings={view.warnings} />}
      {view && <Details view={view} />}
      {view && decided && <Progress view={view} />}

      {failure && (
        <p class="error" role="alert" data-testid="approval-error">
          {failure}
        </p>
      )}

      <footer class="actions">
        {pending ? (
          <>
            <button type="button" data-testid="reject" disabled={deciding || !armed} onClick={() => decide(false)}>
              Reject
            </button>
            <button type="button" class="primary" data-testid="approve" disabled={deciding || !armed} onClick={() => decide(true)}>
              Approve
            </button>
          </>
        ) : (
          (failure || view?.stage === 'done' || view?.stage === 'held') && (
            <button type="button" data-testid="close" onClick={() => window.close()}>
              Close
            </button>
          )
        )}
      </footer>
    </main>
  );
}
