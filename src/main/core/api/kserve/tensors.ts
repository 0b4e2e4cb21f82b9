import type { NamedTensor, TensorData, TensorInfo, TensorType } from '../../../../shared/engine';
import { LodgeError } from '../../errors';
import type { V2Input } from './schemas';
import { halfBitsToNumber } from '../../../../shared/float16';

/** KServe v2 datatypes and the ONNX Runtime types they carry. */
const V2_TO_ORT: Readonly<Record<string, TensorType>> = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
};

const ORT_TO_V2 = Object.fromEntries(Object.entries(V2_TO_ORT).map(([v2, ort]) => [ort, v2])) as Readonly<
  Record<TensorType, string>
>;

/** The v2 datatype of an ONNX Runtime type. */
export function v2Datatype(type: TensorInfo['type']): string {
  return type === 'unknown' ? 'BYTES' : (ORT_TO_V2[type] ?? 'BYTES');
}

/** Metadata shape: symbolic and unknown dims become -1. */
export function v2Shape(shape: TensorInfo['shape']): number[] {
  return shape.map((dim) => (typeof dim === 'number' && dim >= 0 ? dim : -1));
}

const SIZES: Readonly<Record<string, number>> = {
  BOOL: 1,
  UINT8: 1,
  INT8: 1,
  UINT16: 2,
  INT16: 2,
  FP16: 2,
  UINT32: 4,
  INT32: 4,
  FP32: 4,
  UINT64: 8,
  INT64: 8,
  FP64: 8,
};

/** Converts a JSON or binary input into a tensor, checking its element count against its shape. */
export function toTensor(input: V2Input, binary: Uint8Array | null): NamedTensor {
  const type = Object.hasOwn(V2_TO_ORT, input.datatype) ? V2_TO_ORT[input.datatype] : undefined;
  if (type === undefined) {
    throw new LodgeError(
      'invalid_request',
      `Input "${input.name}" has datatype ${input.datatype}, which Lodge does not support (BF16 included).`,
    );
  }
  const count = input.shape.reduce((product, dim) => product * dim, 1);
  const mismatch = (values: number) =>
    new LodgeError(
      'invalid_request',
      `Input "${input.name}" has shape [${input.shape.join(', ')}] (${count} elements) but ${values} values.`,
    );
  let data: TensorData;
  if (binary !== null) data = fromBinary(input, type, binary, count);
  else {
    if (input.data === undefined)
      throw new LodgeError('invalid_request', `Input "${input.name}" has no data.`);
    if (type === 'float16') {
      throw new LodgeError(
        'invalid_request',
        `Input "${input.name}": FP16 data cannot be sent as JSON; use the binary tensor extension.`,
      );
    }
    const values = flatten(input.data);
    if (values.length !== count) throw mismatch(values.length);
    data = fromJson(input, type, values);
  }
  if (data.length !== count) throw mismatch(data.length);
  return { name: input.name, type, dims: [...input.shape], data };
}

function flatten(value: unknown): unknown[] {
  return Array.isArray(value) ? value.flat(Infinity) : [value];
}

/** Inclusive ranges of the integer datatypes that JSON numbers carry exactly. */
const INTEGER_RANGES: Readonly<Partial<Record<TensorType, readonly [number, number]>>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
};

const BIG_RANGES: Readonly<Partial<Record<TensorType, readonly [bigint, bigint]>>> = {
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

/** Converts JSON values into typed data, refusing any value the datatype cannot hold exactly. */
function fromJson(input: V2Input, type: TensorType, values: unknown[]): TensorData {
  const fail = (why: string): never => {
    throw new LodgeError('invalid_request', `Input "${input.name}" (${input.datatype}): ${why}`);
  };
  const floats = (fits: (value: number) => boolean) =>
    values.map((value, index) => {
      const number =
        typeof value === 'number'
          ? value
          : typeof value === 'bigint'
            ? Number(value)
            : fail('expected numbers');
      return fits(number) ? number : fail(`value ${index} (${String(value)}) is out of range.`);
    });
  const integers = ([low, high]: readonly [number, number]) =>
    values.map((value, index) =>
      typeof value === 'number' && Number.isInteger(value)
        ? value >= low && value <= high
          ? value
          : fail(`value ${index} (${value}) is out of range ${low}..${high}.`)
        : typeof value === 'bigint'
          ? fail(`value ${index} (${value}) is out of range ${low}..${high}.`)
          : fail(`expected integers, got ${describe(value)} at ${index}.`),
    );
  const bigints = ([low, high]: readonly [bigint, bigint]) =>
    values.map((value, index) => {
      const big =
        typeof value === 'bigint'
          ? value
          : typeof value === 'number' && Number.isInteger(value)
            ? BigInt(value)
            : fail(`expected integers, got ${describe(value)} at ${index}.`);
      return big >= low && big <= high
        ? big
        : fail(`value ${index} (${String(value)}) is out of range ${low}..${high}.`);
    });
  const range = INTEGER_RANGES[type];
  const bigRange = BIG_RANGES[type];
  switch (type) {
    case 'bool':
      return Uint8Array.from(
        values.map((value) =>
          typeof value === 'boolean'
            ? Number(value)
            : value === 0 || value === 1
              ? value
              : fail('expected true or false'),
        ),
      );
    case 'string':
      return values.map((value) => (typeof value === 'string' ? value : fail('expected strings')));
    case 'int64':
      return BigInt64Array.from(bigints(bigRange ?? [0n, 0n]));
    case 'uint64':
      return BigUint64Array.from(bigints(bigRange ?? [0n, 0n]));
    case 'float32':
      return Float32Array.from(floats((value) => Number.isFinite(Math.fround(value))));
    case 'float64':
      return Float64Array.from(floats(Number.isFinite));
    case 'int8':
      return Int8Array.from(integers(range ?? [0, 0]));
    case 'int16':
      return Int16Array.from(integers(range ?? [0, 0]));
    case 'int32':
      return Int32Array.from(integers(range ?? [0, 0]));
    case 'uint8':
      return Uint8Array.from(integers(range ?? [0, 0]));
    case 'uint16':
      return Uint16Array.from(integers(range ?? [0, 0]));
    case 'uint32':
      return Uint32Array.from(integers(range ?? [0, 0]));
    default:
      return fail('unsupported datatype');
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'number' ? String(value) : `a ${typeof value}`;
}

function fromBinary(input: V2Input, type: TensorType, bytes: Uint8Array, count: number): TensorData {
  if (type === 'string') {
    const strings: string[] = [];
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let offset = 0; offset < bytes.length;) {
      if (offset + 4 > bytes.length)
        throw new LodgeError('invalid_request', `Input "${input.name}": truncated BYTES element.`);
      const length = view.getUint32(offset, true);
      offset += 4;
      if (offset + length > bytes.length)
        throw new LodgeError('invalid_request', `Input "${input.name}": truncated BYTES element.`);
      strings.push(new TextDecoder().decode(bytes.subarray(offset, offset + length)));
      offset += length;
    }
    return strings;
  }
  const size = SIZES[input.datatype] ?? 1;
  if (bytes.length !== count * size) {
    throw new LodgeError(
      'invalid_request',
      `Input "${input.name}" has shape [${input.shape.join(', ')}], which needs ${count * size} bytes of ${input.datatype}, but ${bytes.length} were sent.`,
    );
  }
  // Copy into an aligned buffer: the slice of the body may start at any offset.
  // NOTE: a Buffer's slice() is a view of its (pooled) memory; new Uint8Array(bytes) really copies.
  const copy = new Uint8Array(bytes).buffer;
  switch (type) {
    case 'bool': {
      const flags = new Uint8Array(copy);
      if (flags.some((flag) => flag > 1))
        throw new LodgeError('invalid_request', `Input "${input.name}" (BOOL): bytes must be 0 or 1.`);
      return flags;
    }
    case 'uint8':
      return new Uint8Array(copy);
    case 'int8':
      return new Int8Array(copy);
    case 'int16':
      return new Int16Array(copy);
    case 'uint16':
    case 'float16':
      return new Uint16Array(copy);
    case 'int32':
      return new Int32Array(copy);
    case 'uint32':
      return new Uint32Array(copy);
    case 'float32':
      return new Float32Array(copy);
    case 'int64':
      return new BigInt64Array(copy);
    case 'uint64':
      return new BigUint64Array(copy);
    case 'float64':
      return new Float64Array(copy);
    default:
      throw new LodgeError('invalid_request', `Input "${input.name}": unsupported datatype.`);
  }
}

/** An output's values for JSON: plain numbers, exact integers past 2^53 as raw JSON, fp16 as floats. */
export function jsonData(tensor: NamedTensor): unknown[] {
  const { data, type } = tensor;
  if (type === 'bool') return [...(data as Uint8Array)].map(Boolean);
  if (type === 'float16') return [...(data as Uint16Array)].map(halfBitsToNumber);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    return [...data].map((value) =>
      value >= -9007199254740991n && value <= 9007199254740991n ? Number(value) : rawJson(value.toString()),
    );
  }
  return Array.isArray(data) ? data : [...(data as Float32Array)];
}

/** An output's bytes for the binary extension. */
export function binaryData(tensor: NamedTensor): Buffer {
  if (Array.isArray(tensor.data)) {
    return Buffer.concat(
      (tensor.data as string[]).flatMap((text) => {
        const bytes = Buffer.from(text, 'utf8');
        const length = Buffer.alloc(4);
        length.writeUInt32LE(bytes.length);
        return [length, bytes];
      }),
    );
  }
  const view = tensor.data as Exclude<TensorData, string[]>;
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

declare global {
  interface JSON {
    /** JSON.rawJSON (V8 11.4+, Node ≥ 21; not yet in TypeScript's ES2023 lib). */
    rawJSON(text: string): unknown;
  }
}

/** NOTE: JSON.rawJSON writes an integer's digits exactly, which numbers cannot past 2^53. */
function rawJson(text: string): unknown {
  return JSON.rawJSON(text);
}

/** JSON.parse keeping integers past 2^53 exact, as BigInt (the reviver sees each number's source text). */
export function parseJsonExact(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown, context?: { source?: string }) =>
    typeof value === 'number' &&
    Number.isInteger(value) &&
    !Number.isSafeInteger(value) &&
    context?.source !== undefined &&
    /^-?\d+$/.test(context.source)
      ? BigInt(context.source)
      : value,
  );
}
