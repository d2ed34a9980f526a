import { webcrypto } from 'node:crypto';
import type * as X509 from '@peculiar/x509';

type MetadataKey = unknown;
type MetadataTarget = object;

/**
 * @peculiar/x509 2.x registers its algorithms through tsyringe, which refuses to load unless a
 * `reflect-metadata` polyfill is present, and that package is not a dependency here. tsyringe only
 * calls getMetadata/getOwnMetadata/defineMetadata (x509's compiled code emits no design-type
 * metadata), so this minimal store is enough. It is installed only when nothing else provides
 * the API, and before x509 is first imported.
 */
function installReflectMetadataShim(): void {
  const reflect = Reflect as unknown as Record<string, unknown>;
  if (typeof reflect.getMetadata === 'function') return;
  const store = new WeakMap<MetadataTarget, Map<string | symbol | undefined, Map<MetadataKey, unknown>>>();
  const own = (target: MetadataTarget, property: string | symbol | undefined, key: MetadataKey) =>
    store.get(target)?.get(property)?.get(key);
  Object.assign(reflect, {
    defineMetadata(key: MetadataKey, value: unknown, target: MetadataTarget, property?: string | symbol) {
      let byProperty = store.get(target);
      if (!byProperty) store.set(target, (byProperty = new Map()));
      let byKey = byProperty.get(property);
      if (!byKey) byProperty.set(property, (byKey = new Map()));
      byKey.set(key, value);
    },
    getOwnMetadata: (key: MetadataKey, target: MetadataTarget, property?: string | symbol) => own(target, property, key),
    getMetadata(key: MetadataKey, target: MetadataTarget, property?: string | symbol) {
      for (let at: MetadataTarget | null = target; at; at = Object.getPrototypeOf(at) as MetadataTarget | null) {
        const value = own(at, property, key);
        if (value !== undefined) return value;
      }
      return undefined;
    },
  });
}

let loading: Promise<typeof X509> | undefined;

/** @peculiar/x509, ready to use with Node's WebCrypto. */
export function loadX509(): Promise<typeof X509> {
  loading ??= (async () => {
    installReflectMetadataShim();
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto as unknown as Crypto);
    return x509;
  })();
  return loading;
}
