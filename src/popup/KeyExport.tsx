import { useState } from 'preact/hooks';
import { EXPORT_KEY_CONFIRMATION, type ExportedKey } from '../background/api.js';
import { errorText } from './errors.js';
import { KitFields } from './KitFields.js';
import { call } from './worker-client.js';

/**
 * "Leave Tandem": the recovery kit and this device's share combined into the wallet's ordinary
 * private key, so the user can move on without the co-signer. It asks for the kit, its secret,
 * the password again and a typed phrase; the key is then shown once, and "Done" drops it from
 * this component's state. It is never stored or copied anywhere by the popup.
 */
export function KeyExport() {
  const [open, setOpen] = useState(false);
  const [kit, setKit] = useState<string>();
  const [secret, setSecret] = useState('');
  const [password, setPassword] = useState('');
  const [confirmation, setConfirmation] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [exported, setExported] = useState<ExportedKey>();

  const close = () => {
    setOpen(false);
    setKit(undefined);
    setSecret('');
    setPassword('');
    setConfirmation('');
    setError(undefined);
    setExported(undefined);
  };

  const submit = async () => {
    if (busy) return;
    if (!kit) return setError('Pick your recovery kit file.');
    setBusy(true);
    setError(undefined);
    try {
      const result = await call({ kind: 'popup', action: 'exportKey', kit, recoverySecret: secret.trim(), password, confirmation });
      setSecret('');
      setPassword('');
      setConfirmation('');
      setExported(result);
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setBusy(false);
    }
  };

  if (exported) {
    return (
      <section class="stack card" data-testid="key-export-result">
        <h2 class="label">Private key of {exported.address}</h2>
        <p class="error" role="alert">
          Shown once. Anyone who sees this key controls the funds, with no co-signer and no policy. Import it only into a wallet you trust,
          or move the funds, then close this.
        </p>
        <pre class="secret hex" data-testid="exported-key">
          {exported.privateKey}
        </pre>
        <button type="button" class="primary" data-testid="key-export-done" onClick={close}>
          Done
        </button>
      </section>
    );
  }
  if (!open) {
    return (
      <p class="muted">
        <button type="button" class="link" data-testid="key-export-open" onClick={() => setOpen(true)}>
          Leave Tandem: export the private key
        </button>
      </p>
    );
  }
  return (
    <form
      class="stack card"
      onSubmit={(event) => {
        event.preventDefault();
        void submit();
      }}
    >
      <h2 class="label">Export the private key</h2>
      <p class="error" role="alert">
        <strong>Anyone with this key controls all the funds of this wallet.</strong> Once exported, the co-signer's policies no longer protect
        it, and nobody can stop a signature made with it. Do this only to leave Tandem, on a computer you trust.
      </p>
      <p class="muted">Your recovery kit and this device's share are combined here; the co-signer is not asked. The key is shown once and not saved.</p>
      <KitFields prefix="key-export" busy={busy} secret={secret} onKit={setKit} onSecret={setSecret} />
      <label>
        Password
        <input type="password" data-testid="key-export-password" autoComplete="current-password" disabled={busy} value={password} onInput={(event) => setPassword(event.currentTarget.value)} />
      </label>
      <label>
        Type <code>{EXPORT_KEY_CONFIRMATION}</code> to confirm
        <input
          type="text"
          data-testid="key-export-confirmation"
          placeholder={EXPORT_KEY_CONFIRMATION}
          autoComplete="off"
          spellcheck={false}
          disabled={busy}
          value={confirmation}
          onInput={(event) => setConfirmation(event.currentTarget.value)}
        />
      </label>
      {error && (
        <p class="error" role="alert" data-testid="key-export-error">
          {error}
        </p>
      )}
      <div class="row">
        <button type="button" disabled={busy} onClick={close}>
          Cancel
        </button>
        <button type="submit" class="primary" data-testid="key-export-submit" disabled={busy}>
          {busy ? 'Checking…' : 'Show the private key'}
        </button>
      </div>
    </form>
  );
}
