import { useState } from 'preact/hooks';
import type { WalletOverview } from '../background/api.js';
import { errorText } from './errors.js';
import { KitFields } from './KitFields.js';
import { call } from './worker-client.js';

/**
 * "Co-signer gone?": open the recovery kit here and sign with it and this device, without the
 * co-signer. On, it says so loudly and offers to leave (which forgets the backup share).
 */
export function EmergencyMode({ overview, onChange }: { overview: WalletOverview; onChange: (overview: WalletOverview) => void }) {
  const [open, setOpen] = useState(false);
  const [kit, setKit] = useState<string>();
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const run = async (action: () => Promise<WalletOverview>) => {
    setBusy(true);
    setError(undefined);
    try {
      onChange(await action());
      setOpen(false);
      setSecret('');
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setBusy(false);
    }
  };

  if (overview.emergency) {
    return (
      <section class="error" role="alert" data-testid="emergency-banner">
        <strong>EMERGENCY MODE.</strong> Signatures are made here with your recovery kit, without the co-signer: no co-signer policy protects them.
        Leave as soon as the co-signer is back.
        <button type="button" class="small" data-testid="emergency-leave" disabled={busy} onClick={() => run(() => call({ kind: 'popup', action: 'leaveEmergency' }))}>
          Leave emergency mode
        </button>
      </section>
    );
  }
  if (!open) {
    return (
      <p class={overview.cosignerStatus === 'offline' ? 'notice' : 'muted'}>
        Co-signer gone?{' '}
        <button type="button" class="link" data-testid="emergency-open" onClick={() => setOpen(true)}>
          Sign with your recovery kit instead
        </button>
      </p>
    );
  }
  return (
    <form
      class="stack card"
      onSubmit={(event) => {
        event.preventDefault();
        if (!kit) return setError('Pick your recovery kit file.');
        void run(() => call({ kind: 'popup', action: 'enterEmergency', kit, recoverySecret: secret.trim() }));
      }}
    >
      <h2 class="label">Emergency mode</h2>
      <p class="muted">Your recovery kit and this device sign together here, without the co-signer. The kit stays in memory only until you leave or lock.</p>
      <KitFields prefix="emergency" busy={busy} secret={secret} onKit={setKit} onSecret={setSecret} />
      {error && (
        <p class="error" role="alert" data-testid="emergency-error">
          {error}
        </p>
      )}
      <div class="row">
        <button type="button" disabled={busy} onClick={() => setOpen(false)}>
          Cancel
        </button>
        <button type="submit" class="primary" data-testid="emergency-enter" disabled={busy}>
          Enter emergency mode
        </button>
      </div>
    </form>
  );
}
