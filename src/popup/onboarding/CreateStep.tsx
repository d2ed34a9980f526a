import { useState } from 'preact/hooks';
import type { PopupReplies } from '../../background/api.js';
import { errorText } from '../errors.js';
import { onboardingStageLabel } from '../format.js';
import { usePoll } from '../use-poll.js';
import { call } from '../worker-client.js';

type Progress = PopupReplies['onboardingProgress'];

const MIN_PASSWORD_LENGTH = 8;

function validate(password: string, confirm: string, cosignerUrl: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH) return `The password needs at least ${MIN_PASSWORD_LENGTH} characters.`;
  if (password !== confirm) return 'The two passwords differ.';
  try {
    new URL(cosignerUrl);
  } catch {
    return 'The co-signer URL is not a valid URL.';
  }
  return undefined;
}

/** Step 1: password and co-signer, then enrollment and key generation with live progress. */
export function CreateStep({ defaultCosignerUrl, onKeyReady }: { defaultCosignerUrl: string; onKeyReady: (progress: Progress) => void }) {
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [cosignerUrl, setCosignerUrl] = useState(defaultCosignerUrl);
  const [enrollmentCode, setEnrollmentCode] = useState('');
  const [error, setError] = useState<string>();
  const [running, setRunning] = useState(false);
  const [progress, setProgress] = useState<Progress>();

  const accept = (latest: Progress) => {
    setProgress(latest);
    if (latest.stage === 'recovery-kit' && latest.recoverySecret) onKeyReady(latest);
  };

  usePoll(running, 200, async () => {
    try {
      accept(await call({ kind: 'popup', action: 'onboardingProgress' }));
    } catch {
      // Until the worker has registered the run there may be no progress to read; the 'onboard' answer decides.
    }
  });

  const submit = async (event: Event) => {
    event.preventDefault();
    if (running) return;
    const invalid = validate(password, confirm, cosignerUrl.trim());
    setError(invalid);
    if (invalid) return;

    setProgress(undefined);
    setRunning(true);
    try {
      const code = enrollmentCode.trim();
      const result = await call({
        kind: 'popup',
        action: 'onboard',
        password,
        cosignerUrl: cosignerUrl.trim(),
        ...(code ? { enrollmentCode: code } : {}),
      });
      if (result.stage === 'failed') throw new Error(result.error?.message ?? 'Setup failed.');
      const latest = await call({ kind: 'popup', action: 'onboardingProgress' });
      accept(latest);
      if (!(latest.stage === 'recovery-kit' && latest.recoverySecret)) throw new Error('The key was made but no recovery secret arrived. Reload this page.');
    } catch (failure) {
      setError(errorText(failure));
      setRunning(false);
    }
  };

  return (
    <form class="stack" onSubmit={submit}>
      <h2>Create your wallet</h2>
      <p class="muted">The password encrypts your key share on this device. You will need it to unlock Tandem.</p>
      <label>
        Password
        <input
          type="password"
          data-testid="onboarding-password"
          autoComplete="new-password"
          minLength={MIN_PASSWORD_LENGTH}
          required
          disabled={running}
          value={password}
          onInput={(event) => setPassword(event.currentTarget.value)}
        />
      </label>
      <label>
        Confirm password
        <input
          type="password"
          data-testid="onboarding-password-confirm"
          autoComplete="new-password"
          required
          disabled={running}
          value={confirm}
          onInput={(event) => setConfirm(event.currentTarget.value)}
        />
      </label>
      <label>
        Co-signer URL
        <input
          type="url"
          data-testid="onboarding-cosigner-url"
          required
          disabled={running}
          value={cosignerUrl}
          onInput={(event) => setCosignerUrl(event.currentTarget.value)}
        />
      </label>
      <label>
        <span>
          Enrollment code <span class="muted">(if your co-signer gave you one)</span>
        </span>
        <input
          type="text"
          data-testid="onboarding-enrollment-code"
          autoComplete="off"
          spellcheck={false}
          disabled={running}
          value={enrollmentCode}
          onInput={(event) => setEnrollmentCode(event.currentTarget.value)}
        />
      </label>

      {error && (
        <p class="error" role="alert" data-testid="onboarding-error">
          {error}
        </p>
      )}

      {running && (
        <div class="progress-block" aria-live="polite">
          <progress data-testid="onboarding-progress" value={progress?.fraction ?? 0} max={1} />
          <p data-testid="onboarding-stage" data-stage={progress?.stage ?? 'starting'}>
            {progress ? onboardingStageLabel(progress.stage) : 'Starting…'}
          </p>
        </div>
      )}

      <button type="submit" class="primary" data-testid="onboarding-submit" disabled={running}>
        {running ? 'Creating…' : 'Create wallet'}
      </button>
    </form>
  );
}
