import { DEVICE_ID_PATTERN } from '../../channel/topics.js';
import type { DeviceRecord } from '../store/types.js';
import { stringValue, walletIdArgument } from './args.js';
import { DATA_DIR_HELP, DATABASE_HELP, MASTER_KEY_HELP, STORE_OPTIONS, type Command, type Values } from './command.js';
import { withStore } from './data.js';
import { CliUsageError } from './errors.js';
import { table } from './format.js';
import type { CliIo } from './io.js';

export const devicesListCommand: Command = {
  name: 'devices list',
  usage: 'devices list <walletId> [--json]',
  summary: "List a wallet's devices: active, restoring (enrolled from the recovery kit; '(approved)' once an operator approved it) or revoked.",
  positionals: ['walletId'],
  options: { ...STORE_OPTIONS, json: { type: 'boolean' } },
  help: [['--json', 'Print a JSON array instead of a table.'], DATA_DIR_HELP, MASTER_KEY_HELP, DATABASE_HELP],
  run: async (values: Values, positionals: string[], io: CliIo) => {
    const walletId = walletIdArgument(positionals[0] ?? '', 'devices list');
    const devices = await withStore(values, io, async (store) => {
      if (!(await store.getWallet(walletId))) throw new CliUsageError(`No wallet ${walletId} here.`, 'devices list');
      return store.listDevices(walletId);
    });
    if (values.json) {
      io.stdout(JSON.stringify(devices.map(deviceJson), null, 2));
      return 0;
    }
    io.stdout(table(['DEVICE', 'STATUS', 'ENROLLED', 'REVOKED', 'REASON'], devices.map((d) => [d.deviceId, statusText(d), iso(d.createdAt), d.revokedAt ? iso(d.revokedAt) : '-', d.revokedReason ?? ''])));
    return 0;
  },
};

export const devicesRevokeCommand: Command = {
  name: 'devices revoke',
  usage: 'devices revoke <deviceId> --reason <text>',
  summary: 'Revoke a device at once: the running co-signer closes its connection within a second and refuses it from then on.',
  positionals: ['deviceId'],
  options: { ...STORE_OPTIONS, reason: { type: 'string' } },
  help: [['--reason <text>', 'Why (kept in the audit log). Required.'], DATA_DIR_HELP, MASTER_KEY_HELP, DATABASE_HELP],
  run: async (values: Values, positionals: string[], io: CliIo) => {
    const deviceId = positionals[0] ?? '';
    if (!DEVICE_ID_PATTERN.test(deviceId)) throw new CliUsageError(`A device id is lowercase hex; got ${JSON.stringify(deviceId)}.`, 'devices revoke');
    const reason = stringValue(values.reason);
    if (!reason) throw new CliUsageError('--reason <text> is required: the audit log keeps why a device was revoked.', 'devices revoke');
    const device = await withStore(values, io, async (store) => {
      if (!(await store.getDevice(deviceId))) throw new CliUsageError(`No device ${deviceId} here.`, 'devices revoke');
      return store.revokeDevice(deviceId, reason, { actor: 'operator' });
    });
    io.stdout(`revoked device ${device.deviceId} of wallet ${device.walletId}`);
    return 0;
  },
};

export const devicesApproveRestoreCommand: Command = {
  name: 'devices approve-restore',
  usage: 'devices approve-restore <deviceId> [--actor <name>]',
  summary: "Approve the restore of a device enrolled from the recovery kit, for a wallet whose policy needs the operator's approval.",
  positionals: ['deviceId'],
  options: { ...STORE_OPTIONS, actor: { type: 'string' } },
  help: [['--actor <name>', 'Who approved (kept in the audit log). Default "operator".'], DATA_DIR_HELP, MASTER_KEY_HELP, DATABASE_HELP],
  run: async (values: Values, positionals: string[], io: CliIo) => {
    const deviceId = positionals[0] ?? '';
    if (!DEVICE_ID_PATTERN.test(deviceId)) throw new CliUsageError(`A device id is lowercase hex; got ${JSON.stringify(deviceId)}.`, 'devices approve-restore');
    const actor = stringValue(values.actor)?.trim() || 'operator';
    const { device, policy } = await withStore(values, io, async (store) => {
      if (!(await store.getDevice(deviceId))) throw new CliUsageError(`No device ${deviceId} here.`, 'devices approve-restore');
      const approved = await store.approveRestore(deviceId, { actor });
      return { device: approved, policy: await store.getPolicy(approved.walletId) };
    });
    io.stdout(`approved the restore of device ${device.deviceId} of wallet ${device.walletId} (by ${actor})`);
    io.stdout(
      policy.restoreNeedsOperator
        ? "It runs at the device's next try (within seconds), once the wallet's restore delay has passed. To stop it instead: devices revoke."
        : "Note: this wallet's policy does not need an approval (restoreNeedsOperator is not set): the restore runs after its delay anyway.",
    );
    return 0;
  },
};

function statusText(device: DeviceRecord): string {
  return device.status === 'restoring' && device.restoreApprovedAt !== undefined ? 'restoring (approved)' : device.status;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function deviceJson(device: DeviceRecord): Record<string, unknown> {
  return {
    deviceId: device.deviceId,
    walletId: device.walletId,
    status: device.status,
    identityPublicKey: device.identityPublicKey,
    createdAt: iso(device.createdAt),
    revokedAt: device.revokedAt ? iso(device.revokedAt) : null,
    revokedReason: device.revokedReason ?? null,
    restoreApprovedAt: device.restoreApprovedAt ? iso(device.restoreApprovedAt) : null,
  };
}
