/**
 * Timing for the signature profile: shadows the methods of a class (or one object) with wrappers
 * that report when each call started and ended, without touching the code being measured.
 * Only bench/e2e uses it, and only when asked to (it costs a little per call).
 */
export interface TraceEvent {
  name: string;
  /** Epoch milliseconds (performance.timeOrigin + now), comparable across processes on one machine. */
  start: number;
  end: number;
}

export type TraceSink = (event: TraceEvent) => void;

const now = () => performance.timeOrigin + performance.now();

function wrap(holder: object, key: string, original: (...args: unknown[]) => unknown, name: string, sink: TraceSink): void {
  Object.defineProperty(holder, key, {
    configurable: true,
    writable: true,
    value: function traced(this: unknown, ...args: unknown[]) {
      const start = now();
      const result = original.apply(this, args);
      if (result instanceof Promise) {
        return result.finally(() => sink({ name, start, end: now() }));
      }
      sink({ name, start, end: now() });
      return result;
    },
  });
}

function methodNames(prototype: object): Map<string, (...args: unknown[]) => unknown> {
  const found = new Map<string, (...args: unknown[]) => unknown>();
  for (let level: object | null = prototype; level && level !== Object.prototype; level = Object.getPrototypeOf(level) as object | null) {
    for (const key of Object.getOwnPropertyNames(level)) {
      if (key === 'constructor' || found.has(key)) continue;
      const descriptor = Object.getOwnPropertyDescriptor(level, key);
      if (descriptor && typeof descriptor.value === 'function') found.set(key, descriptor.value as (...args: unknown[]) => unknown);
    }
  }
  return found;
}

/** Traces the instance methods (inherited ones too) and, if asked, the static ones of a class. */
export function traceClass(cls: { prototype: object; name: string }, sink: TraceSink, options: { only?: string[]; statics?: string[]; label?: string } = {}): void {
  const label = options.label ?? cls.name;
  for (const [key, original] of methodNames(cls.prototype)) {
    if (options.only && !options.only.includes(key)) continue;
    wrap(cls.prototype, key, original, `${label}.${key}`, sink);
  }
  for (const key of options.statics ?? []) {
    const original = (cls as unknown as Record<string, unknown>)[key];
    if (typeof original === 'function') wrap(cls, key, original as (...args: unknown[]) => unknown, `${label}.${key}`, sink);
  }
}

/** Traces the methods of one object (for example the co-signer's store) on the object itself. */
export function traceObject(target: object, label: string, sink: TraceSink): void {
  const prototype = Object.getPrototypeOf(target) as object | null;
  if (!prototype) return;
  for (const [key, original] of methodNames(prototype)) wrap(target, key, original, `${label}.${key}`, sink);
}
