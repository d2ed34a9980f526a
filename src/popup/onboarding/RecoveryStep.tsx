import { useState } from 'preact/hooks';
import type { RecoveryKitFile, WalletOverview } from '../../background/api.js';
import { downloadFile } from '../download.js';
import { errorText } from '../errors.js';
import { call } from '../worker-client.js';

/** Step 2: the user writes the recovery secret down, proves it by typing it back, and saves the kit. */
export function RecoveryStep({ recoverySecret, onFinished }: { recoverySecret: string; onFinished: (overview: WalletOverview) => void }) {
  const [writtenDown, setWrittenDown] = useState(false);
  const [typed, setTyped] = useState('');
  const [kit, setKit] = useState<RecoveryKitFile>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const confirm = async (event: Event) => {
    event.preventDefault();
    if (busy || !writtenDown) return;
    setBusy(true);
    setError(undefined);
    try {
      const file = await call({ kind: 'popup', action: 'confirmRecovery', recoverySecret: typed.trim() });
      setKit(file);
      downloadFile(file);
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setBusy(false);
    }
  };

  const finish = async () => {
    setBusy(true);
    setError(undefined);
    try {
      onFinished(await call({ kind: 'popup', action: 'finishOnboarding' }));
    } catch (failure) {
      setError(errorText(failure));
      setBusy(false);
    }
  };

  if (kit) {
    return (
      <section class="stack">
        <h2>Save your recovery kit</h2>
        <p>
          The kit <code>{kit.filename}</code> is downloading. Keep it somewhere safe, apart from the written secret: you need both
          to recover your wallet, and the kit alone cannot be opened.
        </p>
        <button type="button" data-testid="recovery-download" onClick={() => downloadFile(kit)}>
          Download again
        </button>
        <p class="muted">When you finish, this device forgets the backup for good.</p>
        {error && (
          <p class="error" role="alert" data-testid="recovery-error">
            {error}
          </p>
        )}
        <button type="button" class="primary" data-testid="onboarding-finish" disabled={busy} onClick={finish}>
          Finish
        </button>
      </section>
    );
  }

  return (
    <form class="stack" onSubmit={confirm}>
      <h2>Write down your recovery secret</h2>
      <p>
        Your backup key share goes into a recovery kit file, encrypted under this secret. Write the secret down on paper now. The
        kit file is useless without it, and it is shown only once.
      </p>
      <pre class="secret" data-testid="recovery-secret">
        {recoverySecret}
      </pre>
      <label class="checkbox">
        <input type="checkbox" data-testid="recovery-written-down" checked={writtenDown} onChange={(event) => setWrittenDown(event.currentTarget.checked)} />
        I wrote it down
      </label>
      <label>
        Type the secret back
        <input
          type="text"
          data-testid="recovery-confirm-input"
          autoComplete="off"
          spellcheck={false}
          disabled={!writtenDown}
          value={typed}
          onInput={(event) => setTyped(event.currentTarget.value)}
        />
      </label>
      {error && (
        <p class="error" role="alert" data-testid="recovery-error">
          {error}
        </p>
      )}
      <button type="submit" class="primary" data-testid="recovery-confirm" disabled={busy || !writtenDown || !typed.trim()}>
        Confirm and save the kit
      </button>
    </form>
  );
}
