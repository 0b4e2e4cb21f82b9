import type { NamedTensor, TensorData, TensorInfo, TensorType } from '../../../../shared/engine';
import { LodgeError } from '../../errors';

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

/** One input of an infer request, as it arrived. */
export interface V2Input {
  readonly name: string;
  readonly shape: readonly number[];
  readonly datatype: string;
  readonly data?: unknown;
  readonly parameters?: { readonly binary_data_size?: number };
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
  const type = V2_TO_ORT[input.datatype];
  if (type === undefined) {
    throw new LodgeError(
      'invalid_request',
      `Input "${input.name}" has datatype ${input.datatype}, which Lodge does not support (BF16 included).`,
    );
  }
  if (!Array.isArray(input.shape) || input.shape.some((dim) => !Number.isInteger(dim) || dim < 0)) {
    throw new LodgeError('invalid_request', `Input "${input.name}" needs a shape of non-negative integers.`);
  }
  const count = input.shape.reduce((product, dim) => product * dim, 1);
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
    data = fromJson(input, type, flatten(input.data));
  }
  if (data.length !== count) {
    throw new LodgeError(
      'invalid_request',
      `Input "${input.name}" has shape [${input.shape.join(', ')}] (${count} elements) but ${data.length} values.`,
    );
  }
  return { name: input.name, type, dims: [...input.shape], data };
}

function flatten(value: unknown): unknown[] {
  return Array.isArray(value) ? value.flat(Infinity) : [value];
}

function fromJson(input: V2Input, type: TensorType, values: unknown[]): TensorData {
  const fail = (why: string): never => {
    throw new LodgeError('invalid_request', `Input "${input.name}" (${input.datatype}): ${why}`);
  };
  const numbers = () =>
    values.map((value) =>
      typeof value === 'number'
        ? value
        : typeof value === 'bigint'
          ? Number(value)
          : fail('expected numbers'),
    );
  const bigints = () =>
    values.map((value) =>
      typeof value === 'bigint'
        ? value
        : typeof value === 'number' && Number.isInteger(value)
          ? BigInt(value)
          : fail('expected integers'),
    );
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
      return BigInt64Array.from(bigints());
    case 'uint64':
      return BigUint64Array.from(bigints());
    case 'float32':
      return Float32Array.from(numbers());
    case 'float64':
      return Float64Array.from(numbers());
    case 'int8':
      return Int8Array.from(numbers());
    case 'int16':
      return Int16Array.from(numbers());
    case 'int32':
      return Int32Array.from(numbers());
    case 'uint8':
      return Uint8Array.from(numbers());
    case 'uint16':
      return Uint16Array.from(numbers());
    case 'uint32':
      return Uint32Array.from(numbers());
    default:
      return fail('unsupported datatype');
  }
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
    case 'bool':
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
  if (type === 'float16') return [...(data as Uint16Array)].map(halfToFloat);
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

function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** NOTE: JSON.rawJSON (V8 11.4+, so Node ≥ 21) writes an integer's digits exactly, which numbers cannot past 2^53. */
function rawJson(text: string): unknown {
  return (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON(text);
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
