import { useEffect, useState } from 'preact/hooks';
import type { CallsBundleView } from '../background/api.js';
import { BundleCalls } from './BundleCalls.js';
import { errorText } from './errors.js';
import { usePoll } from './use-poll.js';
import { call } from './worker-client.js';

const POLL_MS = 1_500;

/** `#/calls/<ref>`: an EIP-5792 bundle, opened by wallet_showCallsStatus; polled until its status is final. */
export function CallsStatusPage({ bundleRef }: { bundleRef: string }) {
  const [bundle, setBundle] = useState<CallsBundleView>();
  const [error, setError] = useState<string>();
  const load = async () => {
    try {
      setBundle(await call({ kind: 'popup', action: 'callsBundle', ref: bundleRef }));
      setError(undefined);
    } catch (failure) {
      setError(errorText(failure));
    }
  };
  useEffect(() => void load(), [bundleRef]);
  usePoll(bundle !== undefined && bundle.status === 100, POLL_MS, load);
  return (
    <main class="page page-window">
      <h1>Calls</h1>
      {bundle && (
        <>
          <p class="origin" data-testid="bundle-origin">
            {bundle.origin}
          </p>
          <p class="muted">
            Bundle <code data-testid="bundle-id">{bundle.id}</code>
          </p>
          <BundleCalls bundle={bundle} />
        </>
      )}
      {!bundle && !error && <p class="muted">Loading…</p>}
      {error && (
        <p class="error" role="alert" data-testid="bundle-error">
          {error}
        </p>
      )}
      <footer class="actions">
        <button type="button" data-testid="close" onClick={() => window.close()}>
          Close
        </button>
      </footer>
    </main>
  );
}
