import { useState } from 'preact/hooks';
import type { PopupReplies } from '../../background/api.js';
import { errorText } from '../errors.js';
import { onboardingStageLabel } from '../format.js';
import { usePoll } from '../use-poll.js';
import { call } from '../worker-client.js';

type Progress = PopupReplies['onboardingProgress'];

const MIN_PASSWORD_LENGTH = 8;

/** What the kit file says about itself, read here only to fill in the co-signer and show the address. */
function kitSummary(text: string): { address?: string; cosignerUrl?: string } {
  try {
    const kit = JSON.parse(text) as { address?: unknown; cosignerUrl?: unknown };
    return { ...(typeof kit.address === 'string' ? { address: kit.address } : {}), ...(typeof kit.cosignerUrl === 'string' ? { cosignerUrl: kit.cosignerUrl } : {}) };
  } catch {
    return {};
  }
}

function progressText(progress: Progress | undefined, now: number): string {
  if (!progress) return 'Starting…';
  if (progress.stage === 'restore-delay' && progress.readyAt !== undefined) {
    const seconds = Math.ceil((progress.readyAt - now) / 1000);
    if (seconds > 0) return `For your safety the co-signer waits before it restores a wallet: ${seconds} s to go.`;
    return onboardingStageLabel('restoring');
  }
  if (progress.stage === 'restore-delay' && progress.notice !== undefined) return 'Waiting for the co-signer’s operator to approve this restore…';
  return onboardingStageLabel(progress.stage);
}

/** Restore from the recovery kit: the kit file, its secret, a new password; then the co-signer re-shares the key here. */
export function RestoreStep({ defaultCosignerUrl, onKeyReady, onCancel }: { defaultCosignerUrl: string; onKeyReady: (progress: Progress) => void; onCancel: () => void }) {
  const [kit, setKit] = useState<{ name: string; text: string }>();
  const [secret, setSecret] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [cosignerUrl, setCosignerUrl] = useState(defaultCosignerUrl);
  const [error, setError] = useState<string>();
  const [running, setRunning] = useState(false);
  const [progress, setProgress] = useState<Progress>();
  const [now, setNow] = useState(Date.now());

  const accept = (latest: Progress) => {
    setProgress(latest);
    setNow(Date.now());
    if (latest.stage === 'recovery-kit' && latest.recoverySecret) onKeyReady(latest);
  };

  usePoll(running, 250, async () => {
    try {
      accept(await call({ kind: 'popup', action: 'onboardingProgress' }));
    } catch {
      // The 'restore' answer decides.
    }
  });

  const pickKit = async (event: Event) => {
    const file = (event.currentTarget as HTMLInputElement).files?.[0];
    if (!file) return;
    const text = await file.text();
    setKit({ name: file.name, text });
    const summary = kitSummary(text);
    if (summary.cosignerUrl) setCosignerUrl(summary.cosignerUrl);
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    if (running) return;
    const invalid = !kit
      ? 'Pick your recovery kit file.'
      : !secret.trim()
        ? 'Type the recovery secret you wrote down.'
        : password.length < MIN_PASSWORD_LENGTH
          ? `The password needs at least ${MIN_PASSWORD_LENGTH} characters.`
          : password !== confirm
            ? 'The two passwords differ.'
            : undefined;
    setError(invalid);
    if (invalid || !kit) return;
    setProgress(undefined);
    setRunning(true);
    try {
      const result = await call({ kind: 'popup', action: 'restore', kit: kit.text, recoverySecret: secret.trim(), password, cosignerUrl: cosignerUrl.trim() });
      if (result.stage === 'failed') throw new Error(result.error?.message ?? 'The restore failed.');
      const latest = await call({ kind: 'popup', action: 'onboardingProgress' });
      accept(latest);
      if (!(latest.stage === 'recovery-kit' && latest.recoverySecret)) throw new Error('The wallet was restored but no new recovery secret arrived. Reload this page.');
    } catch (failure) {
      setError(errorText(failure));
      setRunning(false);
    }
  };

  const address = kit ? kitSummary(kit.text).address : undefined;
  return (
    <form class="stack" onSubmit={submit}>
      <h2>Restore from recovery kit</h2>
      <p class="muted">
        Your recovery kit and the co-signer put your wallet on this browser, with the same address. Afterwards your old device and your old kit stop
        working, and you get a new kit to save.
      </p>
      <label>
        Recovery kit file
        <input type="file" accept=".json,application/json" data-testid="restore-kit-file" disabled={running} onChange={pickKit} />
      </label>
      {address && (
        <p class="muted" data-testid="restore-kit-address">
          Wallet <code>{address}</code>
        </p>
      )}
      <label>
        Recovery secret
        <input
          type="text"
          data-testid="restore-secret"
          autoComplete="off"
          spellcheck={false}
          disabled={running}
          value={secret}
          onInput={(event) => setSecret(event.currentTarget.value)}
        />
      </label>
      <label>
        New password for this browser
        <input type="password" data-testid="restore-password" autoComplete="new-password" disabled={running} value={password} onInput={(event) => setPassword(event.currentTarget.value)} />
      </label>
      <label>
        Confirm password
        <input type="password" data-testid="restore-password-confirm" autoComplete="new-password" disabled={running} value={confirm} onInput={(event) => setConfirm(event.currentTarget.value)} />
      </label>
      <label>
        Co-signer URL
        <input type="url" data-testid="restore-cosigner-url" required disabled={running} value={cosignerUrl} onInput={(event) => setCosignerUrl(event.currentTarget.value)} />
      </label>

      {error && (
        <p class="error" role="alert" data-testid="restore-error">
          {error}
        </p>
      )}
      {running && (
        <div class="progress-block" aria-live="polite">
          <progress data-testid="restore-progress" value={progress?.fraction ?? 0} max={1} />
          <p data-testid="restore-stage" data-stage={progress?.stage ?? 'starting'}>
            {progressText(progress, now)}
          </p>
          {progress?.stage === 'restore-delay' && progress.notice && (
            <p class="muted" data-testid="restore-notice">
              {progress.notice}
            </p>
          )}
        </div>
      )}
      <div class="row">
        <button type="button" data-testid="restore-cancel" disabled={running} onClick={onCancel}>
          Back
        </button>
        <button type="submit" class="primary" data-testid="restore-submit" disabled={running}>
          {running ? 'Restoring…' : 'Restore wallet'}
        </button>
      </div>
    </form>
  );
}
