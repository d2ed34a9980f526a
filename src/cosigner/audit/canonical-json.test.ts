import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.js';

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it('gives the same text whatever the insertion order', () => {
    expect(canonicalJson({ x: 1, y: 2, z: 3 })).toBe(canonicalJson({ z: 3, y: 2, x: 1 }));
  });

  it('sorts keys by UTF-16 code units, like RFC 8785', () => {
    expect(canonicalJson({ b: 0, a: 0, B: 0, é: 0, '1': 0 })).toBe('{"1":0,"B":0,"a":0,"b":0,"é":0}');
  });

  it('writes numbers in shortest form, bigints as decimal strings, and omits undefined values', () => {
    expect(canonicalJson({ n: 1.5, m: -0, e: 1e21, big: 2n ** 80n, gone: undefined })).toBe('{"big":"1208925819614629174706176","e":1e+21,"m":0,"n":1.5}');
  });

  it('escapes strings as JSON does', () => {
    expect(canonicalJson('a"b\\c\n\u0001')).toBe(JSON.stringify('a"b\\c\n\u0001'));
  });

  it('refuses what JSON cannot hold faithfully', () => {
    for (const bad of [NaN, Infinity, new Date(0), new Uint8Array(1), [undefined], () => 1, Symbol('s'), new Map()]) {
      expect(() => canonicalJson({ bad })).toThrow(TypeError);
    }
  });

  it('refuses cycles', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => canonicalJson(cycle)).toThrow(TypeError);
  });
});
