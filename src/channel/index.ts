export { ChannelError, isChannelError, type ChannelErrorCode } from './errors.js';
export { Identity, deviceIdFromPublicKey, parsePublicKey, verifyIdentitySignature, PUBLIC_KEY_BYTES, type SignatureDomain } from './identity.js';
export { Channel, type ChannelOptions, type ConversationHandler, type IncomingHello, type RejectedFrame, type ResolvePeer } from './channel.js';
export { Conversation, type ConversationState, type ReceivedMessage } from './conversation.js';
export { MqttTransport, topicMatches, type TlsOptions, type TransportOptions, type TransportState, type Unsubscribe } from './transport.js';
export {
  presenceWill,
  signStatus,
  startPresence,
  verifyStatus,
  watchPresence,
  type PresenceIdentity,
  type PresencePublisher,
  type PresenceStatus,
  type PresenceWatch,
} from './presence.js';
export { ChannelSession, DEFAULT_MAX_LIFETIME_MS, type ReceiveResult, type SessionState } from './session.js';
export { webFrameCrypto, type FrameCrypto } from './frame-crypto.js';
export { FRAME_VERSION, MAX_BODY_BYTES, MAX_FRAME_BYTES, decodeFrame, type Frame, type FrameType } from './frame.js';
export * from './topics.js';
