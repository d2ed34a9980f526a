import browser from 'webextension-polyfill';
import type { WalletOverview } from '../background/api.js';

async function openNewKitPage(): Promise<void> {
  await browser.tabs.create({ url: browser.runtime.getURL('popup.html#/new-kit') });
  window.close();
}

/**
 * What protects this wallet besides this browser, said plainly: a wallet without a usable
 * recovery kit is told so and offered one; every wallet can refresh its shares (which makes a
 * new kit too).
 */
export function KeyShares({ overview }: { overview: WalletOverview }) {
  const noBackup = overview.walletKind === '2of2' || overview.recoveryKit === 'lost';
  return (
    <section class={noBackup ? 'error' : 'muted'} role={noBackup ? 'alert' : undefined}>
      {overview.walletKind === '2of2' && (
        <p data-testid="no-backup-2of2">
          This is a 2-of-2 wallet: it has NO backup. If you lose this browser profile, or the co-signer disappears, the funds are lost.
          Add a recovery kit to make it 2-of-3.
        </p>
      )}
      {overview.walletKind === '2of3' && overview.recoveryKit === 'lost' && (
        <p data-testid="recovery-kit-lost">
          This wallet has no backup: the extension restarted before its recovery kit was saved, and the backup share existed only in
          memory. Make a new recovery kit now.
        </p>
      )}
      <button type="button" class={noBackup ? 'primary' : 'link'} data-testid="refresh-shares" onClick={openNewKitPage}>
        {noBackup ? 'Make a recovery kit' : 'Refresh key shares'}
      </button>
    </section>
  );
}
