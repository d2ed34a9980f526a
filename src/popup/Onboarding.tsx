import { useEffect, useState } from 'preact/hooks';
import { errorText } from './errors.js';
import { CreateStep } from './onboarding/CreateStep.js';
import { RecoveryStep } from './onboarding/RecoveryStep.js';
import { RestoreStep } from './onboarding/RestoreStep.js';
import { call } from './worker-client.js';

type Step =
  | { name: 'loading' }
  | { name: 'create'; cosignerUrl: string }
  | { name: 'restore'; cosignerUrl: string; interrupted?: string }
  | { name: 'recovery'; recoverySecret: string }
  | { name: 'done'; address: string | undefined };

/** `#/onboarding`, opened in a tab. A reload resumes at the step the worker is at. */
export function OnboardingPage() {
  const [step, setStep] = useState<Step>({ name: 'loading' });
  const [error, setError] = useState<string>();

  useEffect(() => {
    const start = async () => {
      const [overview, progress] = await Promise.all([
        call({ kind: 'popup', action: 'overview' }),
        // No onboarding under way is not an error here: there is simply nothing to resume.
        call({ kind: 'popup', action: 'onboardingProgress' }).catch(() => undefined),
      ]);
      if (progress?.stage === 'recovery-kit' && progress.recoverySecret) setStep({ name: 'recovery', recoverySecret: progress.recoverySecret });
      else if (overview.status === 'restoring') setStep({ name: 'restore', cosignerUrl: overview.cosignerUrl, interrupted: overview.restoring });
      else if (overview.status !== 'uninitialised') setStep({ name: 'done', address: overview.address });
      else setStep({ name: 'create', cosignerUrl: overview.cosignerUrl });
    };
    start().catch((failure: unknown) => setError(errorText(failure)));
  }, []);

  return (
    <main class="page page-tab">
      <header class="brand">Tandem</header>
      <ol class="steps" aria-label="Setup steps">
        <li aria-current={step.name === 'create' || step.name === 'restore' ? 'step' : undefined}>{step.name === 'restore' ? 'Restore' : 'Create'}</li>
        <li aria-current={step.name === 'recovery' ? 'step' : undefined}>Recovery kit</li>
        <li aria-current={step.name === 'done' ? 'step' : undefined}>Done</li>
      </ol>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {step.name === 'loading' && !error && <p class="muted">Loading…</p>}
      {step.name === 'create' && (
        <>
          <CreateStep
            defaultCosignerUrl={step.cosignerUrl}
            onKeyReady={(progress) => progress.recoverySecret && setStep({ name: 'recovery', recoverySecret: progress.recoverySecret })}
          />
          <p class="muted">
            Lost your device?{' '}
            <button type="button" class="link" data-testid="onboarding-restore" onClick={() => setStep({ name: 'restore', cosignerUrl: step.cosignerUrl })}>
              Restore from recovery kit
            </button>
          </p>
        </>
      )}
      {step.name === 'restore' && step.interrupted && (
        <p class="notice" data-testid="restore-interrupted">
          The restore of {step.interrupted} in this browser did not finish. Pick its recovery kit again and type the password you chose
          then: it carries on where it stopped.
        </p>
      )}
      {step.name === 'restore' && (
        <RestoreStep
          defaultCosignerUrl={step.cosignerUrl}
          onKeyReady={(progress) => progress.recoverySecret && setStep({ name: 'recovery', recoverySecret: progress.recoverySecret })}
          onCancel={() => setStep({ name: 'create', cosignerUrl: step.cosignerUrl })}
        />
      )}
      {step.name === 'recovery' && <RecoveryStep recoverySecret={step.recoverySecret} onFinished={(overview) => setStep({ name: 'done', address: overview.address })} />}
      {step.name === 'done' && <Done address={step.address} />}
    </main>
  );
}

function Done({ address }: { address: string | undefined }) {
  return (
    <section class="stack">
      <h2>Your wallet is ready</h2>
      <p>Your address:</p>
      <code class="address" data-testid="onboarding-address">
        {address ?? 'unknown'}
      </code>
      <p class="muted">You can close this tab. Open Tandem from the browser toolbar; pin it there to find it easily.</p>
    </section>
  );
}
