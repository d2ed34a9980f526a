/** The co-signer's broker side: what the co-signer service wires together. */
export {
  COSIGNER_CLIENT_ID,
  COSIGNER_SHARE_GROUP,
  COSIGNER_SHARED_INBOX_FILTER,
  COSIGNER_SHARED_MAIL_FILTER,
  DEFAULT_MAX_PAYLOAD_BYTES,
  PACKET_OVERHEAD_BYTES,
  mayPublish,
  mayReceive,
  maySubscribe,
  emqxApproverAcl,
  emqxDeviceAcl,
  type AccessDecision,
  type BrokerIdentity,
  type EmqxAclRule,
} from './access-rules.js';
export {
  DEFAULT_EMBEDDED_PORT,
  WEBSOCKET_PATH,
  connectCosignerClient,
  startEmbeddedBroker,
  waitUntilConnected,
  type AccessEvent,
  type CosignerClientOptions,
  type EmbeddedBroker,
  type EmbeddedBrokerOptions,
} from './embedded.js';
export { connectExternalCosignerClient, type ExternalCosignerConnection, type ExternalCosignerOptions } from './external.js';
export {
  MosquittoDynsec,
  newApproverCredentials,
  newDeviceCredentials,
  type ApproverBrokerCredentials,
  type DeviceBrokerCredentials,
  type DynsecClientRecord,
  type DynsecCommand,
  type DynsecResponse,
} from './mosquitto-dynsec.js';
export { DEPLOY_CONFIG_PARAMS, initialDynsecConfig, renderMosquittoConf, type MosquittoConfigParams } from './mosquitto-config.js';
export { findDynsecPlugin, findMosquitto, startMosquittoHarness, type MosquittoClientIdentity, type MosquittoHarness, type MosquittoHarnessOptions } from './mosquitto-harness.js';
export {
  BrokerSideError,
  CertificateError,
  DynsecError,
  EmbeddedBrokerError,
  ExternalBrokerError,
  MosquittoError,
  TokenError,
  type TokenFailure,
} from './errors.js';
