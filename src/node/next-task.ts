/**
 * For MqttTransport's runHandlersLater in Node. A co-signer whose message handlers ran inside
 * mqtt.js's packet processing (its frame crypto is synchronous, on node:crypto) left a quarter of its
 * CPU idle under load: 67-71 signatures/s in bench:e2e, 83-96 with the handlers in a task of their
 * own. A service worker needs none: its frame crypto (Web Crypto) yields by itself.
 */
export function nextTask(run: () => void): void {
  setImmediate(run);
}
