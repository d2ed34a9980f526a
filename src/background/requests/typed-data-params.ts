/**
 * eth_signTypedData_v4 params: [address, typed data as JSON text or object].
 *
 * viem's validateTypedData checks ranges and addresses but not that fields are present, that structs are
 * objects, or values given as strings (which is how JSON carries uint256): such input would only fail
 * later, mid-signature, or be hashed differently from what the user saw. So the typed data is walked
 * against its types here and rebuilt: integers become bigints, addresses checksummed, and fields the
 * types do not declare are dropped, because they would not be signed and must not be shown as if they were.
 */
import {
  BaseError,
  hashTypedData,
  validateTypedData,
  type Address,
  type TypedData,
  type TypedDataDefinition,
  type TypedDataDomain,
  type TypedDataParameter,
} from 'viem';
import { invalidParams } from '../errors.js';
import { clip, describeKind, expectObject, expectParamsArray, isPlainObject, parseAddress } from './param-checks.js';

/** Largest typed-data JSON accepted, in characters. Real permits and orders are a few KiB. */
export const MAX_TYPED_DATA_JSON = 64 * 1024;
/** Deepest nesting of structs and arrays walked; it bounds recursion on hostile input. */
const MAX_DEPTH = 32;

const METHOD = 'eth_signTypedData_v4';
const RESERVED_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const ARRAY_SUFFIX = /^(.+)\[(\d*)\]$/;
const INTEGER_TYPE = /^(u?)int(\d+)$/;
const FIXED_BYTES_TYPE = /^bytes(\d+)$/;

/** The EIP-712 domain fields and their types, for typed data that leaves EIP712Domain out of `types`. */
const STANDARD_DOMAIN_FIELDS: readonly TypedDataParameter[] = [
  { name: 'name', type: 'string' },
  { name: 'version', type: 'string' },
  { name: 'chainId', type: 'uint256' },
  { name: 'verifyingContract', type: 'address' },
  { name: 'salt', type: 'bytes32' },
];

type Types = Record<string, readonly TypedDataParameter[]>;

export function parseTypedDataV4(params: unknown): { address: Address; typedData: TypedDataDefinition } {
  const [addressParam, typedDataParam] = expectParamsArray(METHOD, params, 2, 2, '[address, typedData]');
  const address = parseAddress(addressParam, `${METHOD} address (params[0])`);
  return { address, typedData: normaliseTypedData(expectObject(readTypedDataParam(typedDataParam), `${METHOD} typed data (params[1])`)) };
}

/**
 * The typed data parseTypedDataV4 returned, back from its stored form: storage.session keeps no bigints, so
 * toStorable made every integer a decimal string, which viem would hash but the co-signer's policy (a domain
 * chainId must be a number or bigint) refuses. Walking the types again restores exactly the parsed values.
 */
export function reviveTypedData(stored: unknown): TypedDataDefinition {
  return normaliseTypedData(expectObject(stored, `stored ${METHOD} typed data`));
}

function normaliseTypedData(raw: Record<string, unknown>): TypedDataDefinition {
  const types = parseTypes(raw.types);
  const primaryType = raw.primaryType;
  if (typeof primaryType !== 'string' || primaryType === '') throw invalidParams(`${METHOD} typed data needs a primaryType string naming one of its types.`);
  if (primaryType === 'EIP712Domain') throw invalidParams(`${METHOD} with primaryType EIP712Domain (a domain-only signature) is not supported; sign a struct with a message.`);
  if (!types[primaryType]) throw invalidParams(`${METHOD} primaryType "${clip(primaryType)}" is not defined in types (defined: ${Object.keys(types).join(', ')}).`);

  const rawDomain = expectObject(raw.domain, `${METHOD} typed data domain`);
  const domainFields = types.EIP712Domain ?? STANDARD_DOMAIN_FIELDS.filter((field) => rawDomain[field.name] !== undefined && rawDomain[field.name] !== null);
  const fullTypes: Types = { ...types, EIP712Domain: domainFields };
  const domain = normaliseStruct(fullTypes, 'EIP712Domain', rawDomain, 'domain', 0) as TypedDataDomain;
  const message = normaliseStruct(fullTypes, primaryType, expectObject(raw.message, `${METHOD} typed data message`), 'message', 0);

  const typedData = { types: fullTypes as TypedData, primaryType, domain, message } satisfies TypedDataDefinition;
  try {
    validateTypedData(typedData);
    hashTypedData(typedData);
  } catch (error) {
    throw invalidParams(`${METHOD} typed data is not valid EIP-712: ${error instanceof BaseError ? error.shortMessage : String(error)}`);
  }
  return typedData;
}

function readTypedDataParam(value: unknown): unknown {
  if (typeof value === 'string') {
    if (value.length > MAX_TYPED_DATA_JSON) throw invalidParams(`${METHOD} typed data is ${value.length} characters; at most ${MAX_TYPED_DATA_JSON} are accepted.`);
    try {
      return JSON.parse(value) as unknown;
    } catch {
      throw invalidParams(`${METHOD} typed data (params[1]) is a string but not valid JSON.`);
    }
  }
  if (isPlainObject(value)) {
    let size: number;
    try {
      size = JSON.stringify(value).length;
    } catch {
      throw invalidParams(`${METHOD} typed data (params[1]) cannot be serialised as JSON.`);
    }
    if (size > MAX_TYPED_DATA_JSON) throw invalidParams(`${METHOD} typed data is ${size} characters as JSON; at most ${MAX_TYPED_DATA_JSON} are accepted.`);
    return value;
  }
  throw invalidParams(`${METHOD} typed data (params[1]) must be a JSON string or an object, got ${describeKind(value)}.`);
}

function parseTypes(value: unknown): Types {
  const raw = expectObject(value, `${METHOD} typed data types`);
  // No prototype: a type named like Object's own properties must not be found where none was declared.
  const types: Types = Object.create(null) as Types;
  for (const [structName, fields] of Object.entries(raw)) {
    if (!IDENTIFIER.test(structName)) throw invalidParams(`${METHOD} type name "${clip(structName)}" is not a valid identifier.`);
    if (RESERVED_NAMES.has(structName)) throw invalidParams(`${METHOD} type name "${structName}" is not allowed.`);
    if (isAtomicType(structName)) throw invalidParams(`${METHOD} type name "${structName}" is a Solidity type and cannot name a struct.`);
    if (!Array.isArray(fields)) throw invalidParams(`${METHOD} types.${structName} must be an array of { name, type }.`);
    const seen = new Set<string>();
    types[structName] = fields.map((field: unknown, index) => {
      if (!isPlainObject(field) || typeof field.name !== 'string' || typeof field.type !== 'string') {
        throw invalidParams(`${METHOD} types.${structName}[${index}] must be { name: string, type: string }.`);
      }
      // Names that are object machinery: as a key they would set a prototype, not a field the popup shows.
      if (RESERVED_NAMES.has(field.name)) throw invalidParams(`${METHOD} field name "${field.name}" in ${structName} is not allowed.`);
      if (!IDENTIFIER.test(field.name)) throw invalidParams(`${METHOD} field name "${clip(field.name)}" in ${structName} is not a valid identifier.`);
      if (seen.has(field.name)) throw invalidParams(`${METHOD} ${structName} declares the field "${field.name}" twice.`);
      seen.add(field.name);
      return { name: field.name, type: field.type };
    });
  }
  for (const [structName, fields] of Object.entries(types)) {
    for (const field of fields) {
      const base = field.type.replace(/(\[\d*\])+$/, '');
      if (!isAtomicType(base) && !types[base]) throw invalidParams(`${METHOD} type "${clip(field.type)}" of ${structName}.${field.name} is neither a Solidity type nor defined in types.`);
    }
  }
  return types;
}

function isAtomicType(type: string): boolean {
  if (type === 'address' || type === 'bool' || type === 'string' || type === 'bytes') return true;
  const bytes = FIXED_BYTES_TYPE.exec(type);
  if (bytes) return isFixedBytesSize(Number(bytes[1]));
  const integer = INTEGER_TYPE.exec(type);
  return integer !== null && isIntegerBits(Number(integer[2]));
}

const isFixedBytesSize = (size: number) => size >= 1 && size <= 32;
const isIntegerBits = (bits: number) => bits >= 8 && bits <= 256 && bits % 8 === 0;

function normaliseStruct(types: Types, structName: string, value: unknown, path: string, depth: number): Record<string, unknown> {
  if (!isPlainObject(value)) throw invalidParams(`${METHOD} ${path} must be an object of type ${structName}, got ${describeKind(value)}.`);
  const out: Record<string, unknown> = {};
  for (const field of types[structName] ?? []) {
    const fieldPath = `${path}.${field.name}`;
    if (value[field.name] === undefined || value[field.name] === null) throw invalidParams(`${METHOD} ${fieldPath} (${field.type}) is missing.`);
    out[field.name] = normaliseValue(types, field.type, value[field.name], fieldPath, depth + 1);
  }
  return out;
}

function normaliseValue(types: Types, type: string, value: unknown, path: string, depth: number): unknown {
  if (depth > MAX_DEPTH) throw invalidParams(`${METHOD} typed data nests deeper than ${MAX_DEPTH} levels.`);

  const array = ARRAY_SUFFIX.exec(type);
  if (array) {
    const [, itemType = '', length] = array;
    if (!Array.isArray(value)) throw invalidParams(`${METHOD} ${path} must be an array (${type}), got ${describeKind(value)}.`);
    if (length !== '' && value.length !== Number(length)) throw invalidParams(`${METHOD} ${path} must have exactly ${length} items (${type}), got ${value.length}.`);
    return value.map((item, index) => normaliseValue(types, itemType, item, `${path}[${index}]`, depth + 1));
  }
  if (types[type]) return normaliseStruct(types, type, value, path, depth);

  if (type === 'address') return parseAddress(value, `${METHOD} ${path}`);
  if (type === 'bool') {
    if (typeof value !== 'boolean') throw invalidParams(`${METHOD} ${path} must be true or false (bool), got ${describeKind(value)}.`);
    return value;
  }
  if (type === 'string') {
    if (typeof value !== 'string') throw invalidParams(`${METHOD} ${path} must be a string, got ${describeKind(value)}.`);
    return value;
  }
  if (type === 'bytes') return parseBytes(value, path, undefined);
  const fixedBytes = FIXED_BYTES_TYPE.exec(type);
  if (fixedBytes) return parseBytes(value, path, Number(fixedBytes[1]));
  const integer = INTEGER_TYPE.exec(type);
  if (integer) return parseInteger(value, path, type, integer[1] === 'u', Number(integer[2]));
  throw invalidParams(`${METHOD} ${path} has the unknown type "${clip(type)}".`);
}

function parseBytes(value: unknown, path: string, size: number | undefined): `0x${string}` {
  const type = size === undefined ? 'bytes' : `bytes${size}`;
  if (typeof value !== 'string' || !/^0x(?:[0-9a-fA-F]{2})*$/.test(value)) {
    throw invalidParams(`${METHOD} ${path} must be 0x-prefixed hex with whole bytes (${type}), got ${describeKind(value)}.`);
  }
  const length = (value.length - 2) / 2;
  if (size !== undefined && length !== size) throw invalidParams(`${METHOD} ${path} must be exactly ${size} bytes (${type}), got ${length}.`);
  return value.toLowerCase() as `0x${string}`;
}

function parseInteger(value: unknown, path: string, type: string, unsigned: boolean, bits: number): bigint {
  let integer: bigint;
  if (typeof value === 'bigint') integer = value;
  else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw invalidParams(`${METHOD} ${path} (${type}) is ${value}, not a safe integer; send large numbers as decimal strings.`);
    integer = BigInt(value);
  } else if (typeof value === 'string' && (/^-?\d{1,78}$/.test(value) || /^0x[0-9a-fA-F]{1,64}$/.test(value))) {
    integer = value.startsWith('-') ? -BigInt(value.slice(1)) : BigInt(value);
  } else {
    throw invalidParams(`${METHOD} ${path} (${type}) must be an integer, a decimal string or a 0x hex string, got ${describeKind(value)}.`);
  }
  const max = unsigned ? (1n << BigInt(bits)) - 1n : (1n << BigInt(bits - 1)) - 1n;
  const min = unsigned ? 0n : -(1n << BigInt(bits - 1));
  if (integer < min || integer > max) throw invalidParams(`${METHOD} ${path} is ${integer}, out of range for ${type} (${min} to ${max}).`);
  return integer;
}
