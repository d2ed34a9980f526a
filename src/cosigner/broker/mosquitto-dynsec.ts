/**
 * Device and approver credentials on Mosquitto, provisioned by the co-signer through the
 * dynamic-security plugin: JSON commands published to `$CONTROL/dynamic-security/v1` over the
 * co-signer's own (mutual-TLS) connection, answers read from `.../response` and matched by
 * `correlationData`.
 *
 * Per wallet one role, per device one more for its mailbox (mosquitto-acls.ts); per device one
 * client: username = device id, a random password (the device's renewable broker credential), and
 * the client id bound to deviceClientId(deviceId), which the plugin checks at login, so nobody can
 * take a session over. Per approver one role (its mailbox) and one client, bound to
 * approverClientId(approverId) the same way.
 */
import { randomBytes } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { DEVICE_ID_PATTERN, approverClientId, deviceClientId } from '../../channel/topics.js';
import { DynsecError } from './errors.js';
import {
  DYNSEC_CONTROL_TOPIC,
  DYNSEC_RESPONSE_TOPIC,
  approverRoleAcls,
  approverRoleName,
  deviceRoleAcls,
  deviceRoleName,
  walletRoleAcls,
  walletRoleName,
  type DynsecAcl,
} from './mosquitto-acls.js';

export interface DeviceBrokerCredentials {
  username: string;
  password: string;
  clientId: string;
}

/** The same shape for an approver: username = approver id, client id = approverClientId(approverId). */
export type ApproverBrokerCredentials = DeviceBrokerCredentials;

/** What the plugin holds about one client. */
export interface DynsecClientRecord {
  clientId: string | undefined;
  roles: string[];
  disabled: boolean;
}

export interface DynsecCommand {
  command: string;
  [field: string]: unknown;
}

export interface DynsecResponse {
  command: string;
  error?: string;
  data?: unknown;
  correlationData?: string;
}

interface Pending {
  resolve(response: DynsecResponse): void;
}

export class MosquittoDynsec {
  readonly #client: MqttClient;
  readonly #timeoutMs: number;
  readonly #pending = new Map<string, Pending>();
  readonly #onMessage = (topic: string, payload: Buffer) => {
    if (topic !== DYNSEC_RESPONSE_TOPIC) return;
    let responses: unknown;
    try {
      responses = (JSON.parse(payload.toString('utf8')) as { responses?: unknown }).responses;
    } catch {
      return;
    }
    if (!Array.isArray(responses)) return;
    for (const response of responses as DynsecResponse[]) {
      const pending = typeof response?.correlationData === 'string' ? this.#pending.get(response.correlationData) : undefined;
      if (!pending) continue; // another co-signer instance's answer
      this.#pending.delete(response.correlationData!);
      pending.resolve(response);
    }
  };

  private constructor(client: MqttClient, timeoutMs: number) {
    this.#client = client;
    this.#timeoutMs = timeoutMs;
  }

  /** Starts listening for answers on a connected co-signer client (it needs the co-signer role). */
  static async attach(client: MqttClient, options: { timeoutMs?: number } = {}): Promise<MosquittoDynsec> {
    const dynsec = new MosquittoDynsec(client, options.timeoutMs ?? 10_000);
    client.on('message', dynsec.#onMessage);
    try {
      const [grant] = await client.subscribeAsync(DYNSEC_RESPONSE_TOPIC, { qos: 1 });
      if (!grant || grant.qos > 2) throw new Error(`SUBACK ${grant?.qos}`);
    } catch (cause) {
      client.off('message', dynsec.#onMessage);
      throw new DynsecError('DYNSEC_NOT_CONNECTED', 'subscribe', 'The co-signer cannot read dynamic-security answers.', {
        details: 'Its Mosquitto client needs the tandem-cosigner role (see deploy/mosquitto/dynamic-security.json).',
        cause,
      });
    }
    return dynsec;
  }

  async detach(): Promise<void> {
    this.#client.off('message', this.#onMessage);
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      pending.resolve({ command: 'detached', error: 'detached' });
    }
    await this.#client.unsubscribeAsync(DYNSEC_RESPONSE_TOPIC).catch(() => {});
  }

  /** Sends commands in one message (the plugin runs them in order) and returns their answers in order. */
  async execute(commands: DynsecCommand[]): Promise<DynsecResponse[]> {
    const ids = commands.map(() => randomBytes(12).toString('hex'));
    const answers = ids.map(
      (id, index) =>
        new Promise<DynsecResponse>((resolve, reject) => {
          const timer = setTimeout(() => {
            this.#pending.delete(id);
            reject(new DynsecError('DYNSEC_TIMEOUT', commands[index]!.command, `Mosquitto did not answer "${commands[index]!.command}" within ${this.#timeoutMs} ms.`, {
              details: 'Is the dynamic-security plugin loaded, and does this client have the tandem-cosigner role?',
            }));
          }, this.#timeoutMs);
          this.#pending.set(id, {
            resolve(response) {
              clearTimeout(timer);
              resolve(response);
            },
          });
        }),
    );
    const message = JSON.stringify({ commands: commands.map((command, index) => ({ ...command, correlationData: ids[index] })) });
    try {
      await this.#client.publishAsync(DYNSEC_CONTROL_TOPIC, message, { qos: 1 });
    } catch (cause) {
      for (const id of ids) this.#pending.delete(id);
      throw new DynsecError('DYNSEC_NOT_CONNECTED', commands[0]?.command ?? 'none', 'The dynamic-security command could not be sent.', { cause });
    }
    return Promise.all(answers);
  }

  /** Creates the wallet's role if it does not exist yet. */
  async ensureWalletRole(walletId: string): Promise<void> {
    const [created] = await this.execute([createWalletRoleCommand(walletId)]);
    expectSuccess(created!, ['Role already exists']);
  }

  /**
   * Gives a device broker credentials for a wallet: creates the wallet role and the device's mailbox
   * role if needed and the device's client, or, for a device that already has one, adds the roles it
   * lacks and replaces its password.
   */
  async provisionDevice(request: { deviceId: string; walletId: string }): Promise<DeviceBrokerCredentials> {
    const credentials = newDeviceCredentials(request.deviceId);
    const roles = [walletRoleName(request.walletId), deviceRoleName(request.deviceId)];
    await this.#provisionClient(credentials, [createWalletRoleCommand(request.walletId), createDeviceRoleCommand(request.deviceId)], roles, `Tandem device ${request.deviceId}`);
    return credentials;
  }

  /**
   * Replaces a device's password; the old one stops working at once. Mosquitto 2.0.11 also
   * disconnects the device's live connection, so the device must hold the new password before
   * this runs: create it with newDeviceCredentials(), hand it to the device, then pass it here.
   * A device provisioned before mailboxes existed gets its mailbox role here too.
   */
  async renewDeviceCredentials(deviceId: string, prepared: DeviceBrokerCredentials = newDeviceCredentials(deviceId)): Promise<DeviceBrokerCredentials> {
    if (prepared.username !== deviceId) throw new TypeError('The prepared credentials belong to another device.');
    const record = await this.getDevice(deviceId);
    const rolename = deviceRoleName(deviceId);
    const migrate: DynsecCommand[] = record && !record.roles.includes(rolename) ? [createDeviceRoleCommand(deviceId), { command: 'addClientRole', username: deviceId, rolename }] : [];
    const answers = await this.execute([...migrate, { command: 'setClientPassword', username: prepared.username, password: prepared.password }]);
    answers.forEach((answer, index) => expectSuccess(answer, index === 0 && migrate.length > 0 ? ['Role already exists'] : []));
    return prepared;
  }

  /** Deletes a device's client (its password stops working and Mosquitto disconnects it) and its mailbox role. */
  async revokeDevice(deviceId: string): Promise<void> {
    checkDeviceId(deviceId);
    const [client, role] = await this.execute([
      { command: 'deleteClient', username: deviceId },
      { command: 'deleteRole', rolename: deviceRoleName(deviceId) },
    ]);
    expectSuccess(client!, ['Client not found']);
    expectSuccess(role!, ['Role not found']);
  }

  /** Removes a wallet's role (after its devices are revoked). */
  async removeWalletRole(walletId: string): Promise<void> {
    const [answer] = await this.execute([{ command: 'deleteRole', rolename: walletRoleName(walletId) }]);
    expectSuccess(answer!, ['Role not found']);
  }

  /** The plugin's record of a device, or undefined when it has none. */
  async getDevice(deviceId: string): Promise<DynsecClientRecord | undefined> {
    checkDeviceId(deviceId);
    return this.#getClient(deviceId);
  }

  /**
   * Gives an approver broker credentials: its mailbox role and a client bound to its approver client
   * id, or, for an approver that already has one, the role it lacks and a new password.
   */
  async provisionApprover(approverId: string): Promise<ApproverBrokerCredentials> {
    const credentials = newApproverCredentials(approverId);
    await this.#provisionClient(credentials, [createApproverRoleCommand(approverId)], [approverRoleName(approverId)], `Tandem approver ${approverId}`);
    return credentials;
  }

  /**
   * Replaces an approver's password; as for a device, Mosquitto disconnects its live connection, so
   * hand the prepared credentials (newApproverCredentials) to the approver first.
   */
  async renewApproverCredentials(approverId: string, prepared: ApproverBrokerCredentials = newApproverCredentials(approverId)): Promise<ApproverBrokerCredentials> {
    if (prepared.username !== approverId || prepared.clientId !== approverClientId(approverId)) throw new TypeError('The prepared credentials belong to another approver.');
    const [answer] = await this.execute([{ command: 'setClientPassword', username: prepared.username, password: prepared.password }]);
    expectSuccess(answer!);
    return prepared;
  }

  /** Deletes an approver's client (its password stops working and Mosquitto disconnects it) and its role. */
  async revokeApprover(approverId: string): Promise<void> {
    checkApproverId(approverId);
    const [client, role] = await this.execute([
      { command: 'deleteClient', username: approverId },
      { command: 'deleteRole', rolename: approverRoleName(approverId) },
    ]);
    expectSuccess(client!, ['Client not found']);
    expectSuccess(role!, ['Role not found']);
  }

  /** The plugin's record of an approver, or undefined when it has none. */
  async getApprover(approverId: string): Promise<DynsecClientRecord | undefined> {
    checkApproverId(approverId);
    return this.#getClient(approverId);
  }

  async #getClient(username: string): Promise<DynsecClientRecord | undefined> {
    const [answer] = await this.execute([{ command: 'getClient', username }]);
    if (answer!.error === 'Client not found') return undefined;
    expectSuccess(answer!);
    const client = (answer!.data as { client?: { clientid?: string; roles?: { rolename: string }[]; disabled?: boolean } } | undefined)?.client;
    return { clientId: client?.clientid, roles: (client?.roles ?? []).map((role) => role.rolename), disabled: client?.disabled ?? false };
  }

  /**
   * Creates the roles (an existing one is fine) and the client with them; when the client exists,
   * adds only the roles it lacks (the plugin answers a role it already has with "Internal error"),
   * binds its client id and replaces its password.
   */
  async #provisionClient(credentials: DeviceBrokerCredentials, createRoles: DynsecCommand[], rolenames: string[], textname: string): Promise<void> {
    const answers = await this.execute([
      ...createRoles,
      {
        command: 'createClient',
        username: credentials.username,
        password: credentials.password,
        clientid: credentials.clientId,
        textname,
        roles: rolenames.map((rolename) => ({ rolename })),
      },
    ]);
    const client = answers.pop()!;
    for (const role of answers) expectSuccess(role, ['Role already exists']);
    if (client.error !== 'Client already exists') return expectSuccess(client);
    const held = (await this.#getClient(credentials.username))?.roles ?? [];
    const updates = await this.execute([
      ...rolenames.filter((rolename) => !held.includes(rolename)).map((rolename) => ({ command: 'addClientRole', username: credentials.username, rolename })),
      { command: 'setClientId', username: credentials.username, clientid: credentials.clientId },
      { command: 'setClientPassword', username: credentials.username, password: credentials.password },
    ]);
    for (const update of updates) expectSuccess(update);
  }
}

function createRoleCommand(rolename: string, textname: string, acls: DynsecAcl[]): DynsecCommand {
  return { command: 'createRole', rolename, textname, acls: acls.map((acl) => ({ ...acl, priority: acl.priority ?? 0 })) };
}

function createWalletRoleCommand(walletId: string): DynsecCommand {
  return createRoleCommand(walletRoleName(walletId), `Devices of wallet ${walletId}`, walletRoleAcls(walletId));
}

function createDeviceRoleCommand(deviceId: string): DynsecCommand {
  return createRoleCommand(deviceRoleName(deviceId), `Mailbox of device ${deviceId}`, deviceRoleAcls(deviceId));
}

function createApproverRoleCommand(approverId: string): DynsecCommand {
  return createRoleCommand(approverRoleName(approverId), `Approver ${approverId}: its mailbox and the co-signer status`, approverRoleAcls(approverId));
}

/** Fresh credentials for a device: a random 256-bit password and its bound client id. Nothing is sent. */
export function newDeviceCredentials(deviceId: string): DeviceBrokerCredentials {
  checkDeviceId(deviceId);
  return { username: deviceId, password: randomBytes(32).toString('base64url'), clientId: deviceClientId(deviceId) };
}

/** Fresh credentials for an approver: a random 256-bit password and its bound client id. Nothing is sent. */
export function newApproverCredentials(approverId: string): ApproverBrokerCredentials {
  checkApproverId(approverId);
  return { username: approverId, password: randomBytes(32).toString('base64url'), clientId: approverClientId(approverId) };
}

function checkDeviceId(deviceId: string): void {
  if (!DEVICE_ID_PATTERN.test(deviceId)) throw new TypeError(`Not a device id: ${JSON.stringify(deviceId)}`);
}

function checkApproverId(approverId: string): void {
  if (!DEVICE_ID_PATTERN.test(approverId)) throw new TypeError(`Not an approver id: ${JSON.stringify(approverId)}`);
}

function expectSuccess(response: DynsecResponse, tolerated: readonly string[] = []): void {
  if (response.error === undefined || tolerated.includes(response.error)) return;
  throw new DynsecError('DYNSEC_COMMAND_FAILED', response.command, `Mosquitto refused "${response.command}": ${response.error}.`);
}
