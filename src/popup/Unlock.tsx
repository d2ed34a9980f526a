import { useState } from 'preact/hooks';
import type { WalletOverview } from '../background/api.js';
import { errorText } from './errors.js';
import { navigate } from './routes.js';
import { call } from './worker-client.js';

export function UnlockForm({ onUnlocked }: { onUnlocked: (overview: WalletOverview) => void }) {
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    if (!password || busy) return;
    setBusy(true);
    setError(undefined);
    try {
      const overview = await call({ kind: 'popup', action: 'unlock', password });
      setPassword('');
      onUnlocked(overview);
    } catch (failure) {
      setError(errorText(failure));
      setBusy(false);
    }
  };

  return (
    <form class="stack" onSubmit={submit}>
      <h2>Unlock Tandem</h2>
      <label>
        Password
        <input
          type="password"
          data-testid="unlock-password"
          autoComplete="current-password"
          autoFocus
          value={password}
          onInput={(event) => setPassword(event.currentTarget.value)}
        />
      </label>
      {error && (
        <p class="error" role="alert" data-testid="unlock-error">
          {error}
        </p>
      )}
      <button type="submit" class="primary" data-testid="unlock-submit" disabled={busy || !password}>
        {busy ? 'Unlocking…' : 'Unlock'}
      </button>
    </form>
  );
}

/** `#/unlock?next=…`: opened when a request arrives while the wallet is locked. */
export function UnlockPage({ next }: { next: string }) {
  return (
    <main class="page page-narrow">
      <UnlockForm onUnlocked={() => navigate(next)} />
    </main>
  );
}
