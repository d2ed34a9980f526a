/**
 * Device credentials on Mosquitto, provisioned by the co-signer through the dynamic-security
 * plugin: JSON commands published to `$CONTROL/dynamic-security/v1` over the co-signer's own
 * (mutual-TLS) connection, answers read from `.../response` and matched by `correlationData`.
 *
 * Per wallet one role (mosquitto-acls.ts); per device one client: username = device id,
 * a random password (the device's renewable broker credential), and the client id bound to
 * deviceClientId(deviceId), which the plugin checks at login, so nobody can take a session over.
 */
import { randomBytes } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { DEVICE_ID_PATTERN, deviceClientId } from '../../channel/topics.js';
import { DynsecError } from './errors.js';
import { DYNSEC_CONTROL_TOPIC, DYNSEC_RESPONSE_TOPIC, walletRoleAcls, walletRoleName } from './mosquitto-acls.js';

export interface DeviceBrokerCredentials {
  username: string;
  password: string;
  clientId: string;
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
    const [created] = await this.execute([createRoleCommand(walletId)]);
    expectSuccess(created!, ['Role already exists']);
  }

  /**
   * Gives a device broker credentials for a wallet: creates the wallet role if needed and the
   * device's client, or, for a device that already has one, adds the role and replaces its password.
   */
  async provisionDevice(request: { deviceId: string; walletId: string }): Promise<DeviceBrokerCredentials> {
    const credentials = newDeviceCredentials(request.deviceId);
    const rolename = walletRoleName(request.walletId);
    const [role, client] = await this.execute([
      createRoleCommand(request.walletId),
      {
        command: 'createClient',
        username: credentials.username,
        password: credentials.password,
        clientid: credentials.clientId,
        textname: `Tandem device ${request.deviceId}`,
        roles: [{ rolename }],
      },
    ]);
    expectSuccess(role!, ['Role already exists']);
    if (client!.error === 'Client already exists') {
      const answers = await this.execute([
        { command: 'addClientRole', username: credentials.username, rolename },
        { command: 'setClientId', username: credentials.username, clientid: credentials.clientId },
        { command: 'setClientPassword', username: credentials.username, password: credentials.password },
      ]);
      for (const answer of answers) expectSuccess(answer);
    } else {
      expectSuccess(client!);
    }
    return credentials;
  }

  /**
   * Replaces a device's password; the old one stops working at once. Mosquitto 2.0.11 also
   * disconnects the device's live connection, so the device must hold the new password before
   * this runs: create it with newDeviceCredentials(), hand it to the device, then pass it here.
   */
  async renewDeviceCredentials(deviceId: string, prepared: DeviceBrokerCredentials = newDeviceCredentials(deviceId)): Promise<DeviceBrokerCredentials> {
    if (prepared.username !== deviceId) throw new TypeError('The prepared credentials belong to another device.');
    const [answer] = await this.execute([{ command: 'setClientPassword', username: prepared.username, password: prepared.password }]);
    expectSuccess(answer!);
    return prepared;
  }

  /** Deletes a device's client: its password stops working and Mosquitto disconnects it. */
  async revokeDevice(deviceId: string): Promise<void> {
    checkDeviceId(deviceId);
    const [answer] = await this.execute([{ command: 'deleteClient', username: deviceId }]);
    expectSuccess(answer!, ['Client not found']);
  }

  /** Removes a wallet's role (after its devices are revoked). */
  async removeWalletRole(walletId: string): Promise<void> {
    const [answer] = await this.execute([{ command: 'deleteRole', rolename: walletRoleName(walletId) }]);
    expectSuccess(answer!, ['Role not found']);
  }

  /** The plugin's record of a device, or undefined when it has none. */
  async getDevice(deviceId: string): Promise<{ clientId: string | undefined; roles: string[]; disabled: boolean } | undefined> {
    checkDeviceId(deviceId);
    const [answer] = await this.execute([{ command: 'getClient', username: deviceId }]);
    if (answer!.error === 'Client not found') return undefined;
    expectSuccess(answer!);
    const client = (answer!.data as { client?: { clientid?: string; roles?: { rolename: string }[]; disabled?: boolean } } | undefined)?.client;
    return { clientId: client?.clientid, roles: (client?.roles ?? []).map((role) => role.rolename), disabled: client?.disabled ?? false };
  }
}

function createRoleCommand(walletId: string): DynsecCommand {
  return {
    command: 'createRole',
    rolename: walletRoleName(walletId),
    textname: `Devices of wallet ${walletId}`,
    acls: walletRoleAcls(walletId).map((acl) => ({ ...acl, priority: acl.priority ?? 0 })),
  };
}

/** Fresh credentials for a device: a random 256-bit password and its bound client id. Nothing is sent. */
export function newDeviceCredentials(deviceId: string): DeviceBrokerCredentials {
  checkDeviceId(deviceId);
  return { username: deviceId, password: randomBytes(32).toString('base64url'), clientId: deviceClientId(deviceId) };
}

function checkDeviceId(deviceId: string): void {
  if (!DEVICE_ID_PATTERN.test(deviceId)) throw new TypeError(`Not a device id: ${JSON.stringify(deviceId)}`);
}

function expectSuccess(response: DynsecResponse, tolerated: readonly string[] = []): void {
  if (response.error === undefined || tolerated.includes(response.error)) return;
  throw new DynsecError('DYNSEC_COMMAND_FAILED', response.command, `Mosquitto refused "${response.command}": ${response.error}.`);
}
