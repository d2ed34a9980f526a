/**
 * The co-signer's connection to an external broker (Mosquitto, EMQX) over mutual TLS.
 * The certificate is the credential: Mosquitto takes the username from its CN
 * (`use_identity_as_username`), EMQX from `peer_cert_as_username = cn`.
 */
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { COSIGNER_CLIENT_ID } from './access-rules.js';
import { waitUntilConnected } from './embedded.js';
import { ExternalBrokerError } from './errors.js';

export interface ExternalCosignerConnection {
  /** mqtts://host:port of the broker's mutual-TLS listener. */
  url: string;
  caPem: string;
  certPem: string;
  keyPem: string;
  /** Default COSIGNER_CLIENT_ID. Each instance of a pool needs its own. */
  clientId?: string;
  /** 4 (MQTT 3.1.1, default) or 5 (needed for shared subscriptions on Mosquitto). */
  protocolVersion?: 4 | 5;
}

export type ExternalCosignerOptions = Pick<IClientOptions, 'will' | 'keepalive' | 'reconnectPeriod' | 'connectTimeout' | 'resubscribe' | 'properties'>;

/** Connects with a persistent session (`clean: false`) and resolves once the broker accepted it. */
export async function connectExternalCosignerClient(connection: ExternalCosignerConnection, options: ExternalCosignerOptions = {}): Promise<MqttClient> {
  const protocolVersion = connection.protocolVersion ?? 4;
  const client = connect(connection.url, {
    keepalive: 30,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    // MQTT 5 ends a session with the connection unless it is given an expiry
    ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: 7 * 24 * 3600 } } : {}),
    ...options,
    protocolVersion,
    clean: false,
    clientId: connection.clientId ?? COSIGNER_CLIENT_ID,
    ca: connection.caPem,
    cert: connection.certPem,
    key: connection.keyPem,
    rejectUnauthorized: true,
  });
  await waitUntilConnected(client, options.connectTimeout ?? 10_000).catch((cause: unknown) => {
    client.end(true);
    throw new ExternalBrokerError(`The co-signer could not connect to ${connection.url}.`, {
      details: 'Check that the broker trusts this certificate authority, that the certificate CN is a provisioned co-signer, and that the URL is the mutual-TLS listener.',
      cause,
    });
  });
  return client;
}
