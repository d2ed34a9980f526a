import { approversInviteCommand, approversListCommand, approversRemoveCommand } from './approvers.js';
import { auditListCommand, auditVerifyCommand } from './audit.js';
import type { Command } from './command.js';
import { devicesApproveRestoreCommand, devicesListCommand, devicesRevokeCommand } from './devices.js';
import { policySetCommand, policyShowCommand } from './policy.js';
import { requestsListCommand, requestsShowCommand } from './requests.js';
import { startCommand } from './start.js';
import { walletsCommand } from './wallets.js';

export const COMMANDS: readonly Command[] = [
  startCommand,
  walletsCommand,
  policyShowCommand,
  policySetCommand,
  auditVerifyCommand,
  auditListCommand,
  devicesListCommand,
  devicesRevokeCommand,
  devicesApproveRestoreCommand,
  approversInviteCommand,
  approversListCommand,
  approversRemoveCommand,
  requestsListCommand,
  requestsShowCommand,
];
export const GROUPS = ['policy', 'audit', 'devices', 'approvers', 'requests'] as const;
