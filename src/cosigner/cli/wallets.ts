import type { WalletRecord, WalletStatus } from '../store/types.js';
import { stringValue } from './args.js';
import { DATA_DIR_HELP, MASTER_KEY_HELP, STORE_OPTIONS, type Command, type Values } from './command.js';
import { withStore } from './data.js';
import { CliUsageError } from './errors.js';
import { table } from './format.js';
import type { CliIo } from './io.js';

const WALLET_STATUSES: readonly WalletStatus[] = ['active', 'pending', 'locked'];

export const walletsCommand: Command = {
  name: 'wallets',
  usage: 'wallets [--status active|pending|locked] [--json]',
  summary: 'List wallets: id, parties, status, address, why a wallet is locked.',
  positionals: [],
  options: { ...STORE_OPTIONS, status: { type: 'string' }, json: { type: 'boolean' } },
  help: [
    ['--status <status>', 'Only wallets in this state: active, pending (keygen not finished) or locked.'],
    ['--json', 'Print a JSON array instead of a table.'],
    DATA_DIR_HELP,
    MASTER_KEY_HELP,
  ],
  run: runWallets,
};

async function runWallets(values: Values, _positionals: string[], io: CliIo): Promise<number> {
  const statusText = stringValue(values.status);
  if (statusText !== undefined && !(WALLET_STATUSES as readonly string[]).includes(statusText)) {
    throw new CliUsageError(`--status must be one of ${WALLET_STATUSES.join(', ')}; got ${JSON.stringify(statusText)}.`, 'wallets');
  }
  const status = statusText as WalletStatus | undefined;
  const wallets = await withStore(values, io, (store) => store.listWallets(status ? { status } : {}));
  if (values.json) {
    io.stdout(JSON.stringify(wallets.map(walletJson), null, 2));
    return 0;
  }
  if (wallets.length === 0) {
    io.stdout(status ? `No ${status} wallets.` : 'No wallets yet.');
    return 0;
  }
  io.stdout(
    table(
      ['WALLET', 'PARTIES', 'STATUS', 'ADDRESS', 'LOCKED REASON'],
      wallets.map((w) => [w.walletId, `2-of-${w.parties.length}`, w.status, w.address ?? '-', w.lockedReason ?? '']),
    ),
  );
  return 0;
}

function walletJson(wallet: WalletRecord): Record<string, unknown> {
  return {
    walletId: wallet.walletId,
    parties: [...wallet.parties],
    status: wallet.status,
    address: wallet.address ?? null,
    publicKey: wallet.publicKey ?? null,
    generation: wallet.generation ?? null,
    lockedReason: wallet.lockedReason ?? null,
    createdAt: new Date(wallet.createdAt).toISOString(),
  };
}
