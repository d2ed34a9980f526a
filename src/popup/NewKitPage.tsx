import { useEffect, useState } from 'preact/hooks';
import type { OnboardingProgress } from '../background/api.js';
import { errorText, PopupError } from './errors.js';
import { onboardingStageLabel } from './format.js';
import { RecoveryStep } from './onboarding/RecoveryStep.js';
import { call } from './worker-client.js';

type Step =
  | { name: 'loading' }
  | { name: 'intro' }
  | { name: 'running'; progress: OnboardingProgress }
  | { name: 'recovery'; recoverySecret: string }
  | { name: 'done'; address: string | undefined };

/**
 * `#/new-kit`, opened in a tab: refresh key shares. This browser and the co-signer make new
 * shares for themselves and a new recovery kit, which the user saves as in onboarding. A reload
 * while the kit waits resumes at saving it.
 */
export function NewKitPage() {
  const [step, setStep] = useState<Step>({ name: 'loading' });
  const [error, setError] = useState<string>();

  useEffect(() => {
    // Nothing under way is not an error here: there is simply nothing to resume.
    call({ kind: 'popup', action: 'onboardingProgress' })
      .catch(() => undefined)
      .then((progress) => {
        if (progress?.stage === 'recovery-kit' && progress.recoverySecret) setStep({ name: 'recovery', recoverySecret: progress.recoverySecret });
        else setStep({ name: 'intro' });
      });
  }, []);

  const start = async () => {
    setError(undefined);
    setStep({ name: 'running', progress: { stage: 'resharing', fraction: 0.4 } });
    try {
      const progress = await call({ kind: 'popup', action: 'newRecoveryKit' });
      if (progress.stage === 'failed') throw progress.error ? PopupError.fromReply(progress.error) : new Error('Making the new recovery kit failed.');
      const { recoverySecret } = await call({ kind: 'popup', action: 'onboardingProgress' });
      if (!recoverySecret) throw new Error('The new recovery kit is no longer waiting (the extension restarted). Start again: nothing changed.');
      setStep({ name: 'recovery', recoverySecret });
    } catch (failure) {
      setError(errorText(failure));
      setStep({ name: 'intro' });
    }
  };

  return (
    <main class="page page-tab">
      <header class="brand">Tandem</header>
      <h1>Refresh key shares</h1>
      {error && (
        <p class="error" role="alert" data-testid="new-kit-error">
          {error}
        </p>
      )}
      {step.name === 'loading' && <p class="muted">Loading…</p>}
      {step.name === 'intro' && (
        <section class="stack">
          <p>
            This browser and the co-signer make new key shares together, and a new recovery kit. Your address stays the same. Do it
            from time to time, when your recovery kit is lost, or to give a wallet without one a backup.
          </p>
          <p class="notice">
            Afterwards your current recovery kit no longer works, nor do the old shares: you save the new kit in the next step. You
            do not need the old kit for this.
          </p>
          <button type="button" class="primary" data-testid="new-kit-start" onClick={start}>
            Make new shares and a new recovery kit
          </button>
        </section>
      )}
      {step.name === 'running' && (
        <p class="muted" data-testid="new-kit-progress">
          {onboardingStageLabel(step.progress.stage)}
        </p>
      )}
      {step.name === 'recovery' && <RecoveryStep recoverySecret={step.recoverySecret} onFinished={(overview) => setStep({ name: 'done', address: overview.address })} />}
      {step.name === 'done' && (
        <section class="stack" data-testid="new-kit-done">
          <h2>New key shares are in use</h2>
          <p>
            Your address is still{' '}
            <code class="address" data-testid="new-kit-address">
              {step.address}
            </code>
            . Keep the new recovery kit and its secret; the old kit
            can be destroyed.
          </p>
        </section>
      )}
    </main>
  );
}
