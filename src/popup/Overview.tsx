import browser from 'webextension-polyfill';
import { useEffect, useState } from 'preact/hooks';
import type { WalletOverview } from '../background/api.js';
import { CosignerStatusBadge } from './CosignerStatus.js';
import { EmergencyMode } from './EmergencyMode.js';
import { HeldBadges } from './held/HeldBadges.js';
import { KeyExport } from './KeyExport.js';
import { KeyShares } from './KeyShares.js';
import { errorText } from './errors.js';
import { UnlockForm } from './Unlock.js';
import { WatchedTokens } from './WatchedTokens.js';
import { call } from './worker-client.js';

/** `#/`: the toolbar popup. */
export function OverviewPage() {
  const [overview, setOverview] = useState<WalletOverview>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    call({ kind: 'popup', action: 'overview' }).then(setOverview, (failure: unknown) => setError(errorText(failure)));
  }, []);

  return (
    <main class="page page-toolbar">
      <header class="brand">Tandem</header>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {!overview && !error && <p class="muted">Loading…</p>}
      {(overview?.status === 'uninitialised' || overview?.status === 'restoring') && <Welcome restoring={overview.status === 'restoring'} />}
      {overview?.status === 'locked' && <UnlockForm onUnlocked={setOverview} />}
      {overview?.status === 'unlocked' && <Wallet overview={overview} onChange={setOverview} />}
    </main>
  );
}

function Welcome({ restoring }: { restoring: boolean }) {
  const openOnboarding = async () => {
    await browser.tabs.create({ url: browser.runtime.getURL('popup.html#/onboarding') });
    window.close();
  };
  return (
    <section class="stack">
      {restoring ? (
        <p class="notice">A restore from your recovery kit did not finish in this browser.</p>
      ) : (
        <p>Your key will be split between this browser and a co-signer, so neither can sign alone.</p>
      )}
      <button type="button" class="primary" data-testid="open-onboarding" onClick={openOnboarding}>
        {restoring ? 'Finish restoring' : 'Set up a wallet'}
      </button>
    </section>
  );
}

function Wallet({ overview, onChange }: { overview: WalletOverview; onChange: (overview: WalletOverview) => void }) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  /** Every setting answers with the new overview; one wrapper keeps errors and double clicks in one place. */
  const run = async (action: () => Promise<WalletOverview>) => {
    if (busy) return;
    setBusy(true);
    setError(undefined);
    try {
      onChange(await action());
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="stack">
      <AddressCard address={overview.address} />
      <div class="header-status">
        <CosignerStatusBadge status={overview.cosignerStatus} />
        <HeldBadges />
      </div>
      <EmergencyMode overview={overview} onChange={onChange} />
      <KeyExport />
      {overview.deviceRevoked ? (
        <p class="error" role="alert" data-testid="device-revoked">
          This browser can no longer sign for this wallet: the co-signer revoked it. {overview.deviceRevoked} If the wallet was restored on
          another device, use that one; otherwise restore it from your recovery kit in a fresh browser profile.
        </p>
      ) : (
        <KeyShares overview={overview} />
      )}
      {overview.pendingApprovals.length > 0 && (
        <p class="notice" data-testid="pending-approvals">
          {overview.pendingApprovals.length === 1 ? '1 request is' : `${overview.pendingApprovals.length} requests are`} waiting in its own window.
        </p>
      )}

      <label>
        Network
        <select
          data-testid="chain-select"
          value={String(overview.chainId)}
          disabled={busy}
          onChange={(event) => {
            const chainId = Number(event.currentTarget.value);
            void run(() => call({ kind: 'popup', action: 'switchChain', chainId }));
          }}
        >
          {overview.chains.map((chain) => (
            <option key={chain.id} value={String(chain.id)}>
              {chain.name} ({chain.id})
            </option>
          ))}
        </select>
      </label>

      <WatchedTokens chainId={overview.chainId} />

      <ConnectedSites origins={overview.connectedOrigins} busy={busy} onRevoke={(origin) => run(() => call({ kind: 'popup', action: 'revokeOrigin', origin }))} />

      <AutoLockSetting minutes={overview.autoLockMinutes} busy={busy} onSave={(minutes) => run(() => call({ kind: 'popup', action: 'setAutoLock', minutes }))} />

      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}

      <button type="button" data-testid="lock" disabled={busy} onClick={() => run(() => call({ kind: 'popup', action: 'lock' }))}>
        Lock
      </button>
    </div>
  );
}

function AddressCard({ address }: { address: string | undefined }) {
  const [copied, setCopied] = useState(false);
  if (!address) return null;
  const [copyFailed, setCopyFailed] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(address);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      setCopyFailed(true);
    }
  };
  return (
    <section class="card">
      <h2 class="label">Your address</h2>
      <code class="address" data-testid="overview-address">
        {address}
      </code>
      <button type="button" class="small" data-testid="copy-address" onClick={copy}>
        {copied ? 'Copied' : copyFailed ? 'Select and copy by hand' : 'Copy'}
      </button>
    </section>
  );
}

function ConnectedSites({ origins, busy, onRevoke }: { origins: string[]; busy: boolean; onRevoke: (origin: string) => void }) {
  return (
    <section>
      <h2 class="label">Connected sites</h2>
      {origins.length === 0 ? (
        <p class="muted">No site can see your address.</p>
      ) : (
        <ul class="sites" data-testid="connected-sites">
          {origins.map((origin) => (
            <li key={origin}>
              <span class="origin">{origin}</span>
              <button type="button" class="small" data-testid={`revoke-${origin}`} disabled={busy} onClick={() => onRevoke(origin)}>
                Revoke
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function AutoLockSetting({ minutes, busy, onSave }: { minutes: number; busy: boolean; onSave: (minutes: number) => void }) {
  const [value, setValue] = useState(String(minutes));
  useEffect(() => setValue(String(minutes)), [minutes]);
  const parsed = Number(value);
  const valid = Number.isInteger(parsed) && parsed >= 1 && parsed <= 1440;

  return (
    <form
      class="inline-form"
      onSubmit={(event) => {
        event.preventDefault();
        if (valid) onSave(parsed);
      }}
    >
      <label>
        Lock after (minutes)
        <input type="number" min={1} max={1440} step={1} data-testid="auto-lock-minutes" value={value} onInput={(event) => setValue(event.currentTarget.value)} />
      </label>
      <button type="submit" class="small" data-testid="auto-lock-save" disabled={busy || !valid || parsed === minutes}>
        Save
      </button>
    </form>
  );
}
