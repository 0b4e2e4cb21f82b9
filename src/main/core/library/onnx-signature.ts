import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { TensorInfo, TensorType } from '../../../shared/engine';

/** A graph's declared inputs and outputs, and how many weights (initializer elements) it holds. */
export interface OnnxSignature {
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  readonly parameterCount: number;
}

const ELEMENT_TYPES: Readonly<Record<number, TensorType>> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
};

// Protobuf field numbers (onnx.proto3): ModelProto.graph, GraphProto.input/output.
const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;
// TensorProto.dims: repeated int64, packed or not.
const TENSOR_DIMS = 1;

/**
 * Reads the inputs and outputs an ONNX file declares, without loading its weights: it walks the
 * protobuf fields and seeks past everything else (initializers included), so a multi-gigabyte
 * model costs a few small reads. Throws on a file that is not ONNX protobuf.
 */
export function readOnnxSignature(file: string): OnnxSignature {
  const reader = new FileReader(file);
  try {
    const inputs: TensorInfo[] = [];
    const outputs: TensorInfo[] = [];
    let parameterCount = 0;
    let sawGraph = false;
    reader.fields(0, reader.size, (field, wire, start, length) => {
      if (field !== MODEL_GRAPH || wire !== 2) return;
      sawGraph = true;
      reader.fields(start, start + length, (graphField, graphWire, valueStart, valueLength) => {
        if (graphWire === 2 && graphField === GRAPH_INITIALIZER) {
          parameterCount += reader.elementCount(valueStart, valueLength);
          return;
        }
        if (graphWire !== 2 || (graphField !== GRAPH_INPUT && graphField !== GRAPH_OUTPUT)) return;
        const info = parseValueInfo(reader.bytes(valueStart, valueLength));
        (graphField === GRAPH_INPUT ? inputs : outputs).push(info);
      });
    });
    if (!sawGraph) throw new Error('no graph in the file');
    return { inputs, outputs, parameterCount };
  } finally {
    reader.close();
  }
}

type FieldVisitor = (field: number, wire: number, start: number, length: number) => void;

/** Buffered positional reads over a file. */
class FileReader {
  readonly #fd: number;
  readonly size: number;
  #buffer = Buffer.alloc(64 * 1024);
  #bufferStart = 0;
  #bufferEnd = 0;

  constructor(file: string) {
    this.#fd = openSync(file, 'r');
    this.size = fstatSync(this.#fd).size;
  }

  close(): void {
    closeSync(this.#fd);
  }

  byte(position: number): number {
    if (position < this.#bufferStart || position >= this.#bufferEnd) {
      const read = readSync(this.#fd, this.#buffer, 0, this.#buffer.length, position);
      this.#bufferStart = position;
      this.#bufferEnd = position + read;
      if (read === 0) throw new Error('unexpected end of file');
    }
    return this.#buffer[position - this.#bufferStart] as number;
  }

  bytes(position: number, length: number): Uint8Array {
    if (length > 16 * 1024 * 1024) throw new Error('value info is implausibly large');
    const out = Buffer.alloc(length);
    if (readSync(this.#fd, out, 0, length, position) !== length) throw new Error('unexpected end of file');
    return out;
  }

  /** Reads a varint at `position`: its value and its byte length. */
  varint(position: number): [number, number] {
    let value = 0;
    let scale = 1;
    for (let index = 0; index < 10; index++) {
      const byte = this.byte(position + index);
      value += (byte & 0x7f) * scale;
      scale *= 128;
      if ((byte & 0x80) === 0) return [value, index + 1];
    }
    throw new Error('malformed varint');
  }

  /** The element count of a TensorProto at [start, start+length): the product of its dims. */
  elementCount(start: number, length: number): number {
    const dims: number[] = [];
    let position = start;
    const end = start + length;
    while (position < end) {
      const [key, keyLength] = this.varint(position);
      position += keyLength;
      const field = Math.floor(key / 8);
      const wire = key % 8;
      if (field === TENSOR_DIMS && wire === 0) {
        const [dim, dimLength] = this.varint(position);
        dims.push(dim);
        position += dimLength;
      } else if (field === TENSOR_DIMS && wire === 2) {
        const [packedLength, lengthBytes] = this.varint(position);
        position += lengthBytes;
        for (const stop = position + packedLength; position < stop;) {
          const [dim, dimLength] = this.varint(position);
          dims.push(dim);
          position += dimLength;
        }
      } else if (wire === 0) position += this.varint(position)[1];
      else if (wire === 1) position += 8;
      else if (wire === 5) position += 4;
      else if (wire === 2) {
        const [skip, skipBytes] = this.varint(position);
        position += skipBytes + skip;
      } else throw new Error(`unsupported protobuf wire type ${wire}`);
    }
    return dims.reduce((product, dim) => product * dim, 1);
  }

  /** Visits the fields in [start, end); length-delimited values are passed, never read. */
  fields(start: number, end: number, visit: FieldVisitor): void {
    let position = start;
    while (position < end) {
      const [key, keyLength] = this.varint(position);
      position += keyLength;
      const field = Math.floor(key / 8);
      const wire = key % 8;
      if (field === 0) throw new Error('not an ONNX protobuf file');
      if (wire === 0) position += this.varint(position)[1];
      else if (wire === 1) position += 8;
      else if (wire === 5) position += 4;
      else if (wire === 2) {
        const [length, lengthBytes] = this.varint(position);
        position += lengthBytes;
        if (position + length > end) throw new Error('field runs past the end of its message');
        visit(field, wire, position, length);
        position += length;
      } else throw new Error(`unsupported protobuf wire type ${wire}`);
    }
    if (position !== end) throw new Error('truncated protobuf message');
  }
}

/** Parses a ValueInfoProto: name, and for tensors the element type and shape. */
function parseValueInfo(bytes: Uint8Array): TensorInfo {
  let name = '';
  let type: TensorInfo['type'] = 'unknown';
  const shape: (number | string)[] = [];
  walk(bytes, (field, value) => {
    if (field === 1 && value instanceof Uint8Array) name = new TextDecoder().decode(value);
    if (field === 2 && value instanceof Uint8Array) {
      walk(value, (typeField, tensorType) => {
        if (typeField !== 1 || !(tensorType instanceof Uint8Array)) return;
        walk(tensorType, (tensorField, tensorValue) => {
          if (tensorField === 1 && typeof tensorValue === 'number')
            type = ELEMENT_TYPES[tensorValue] ?? 'unknown';
          if (tensorField === 2 && tensorValue instanceof Uint8Array) {
            walk(tensorValue, (shapeField, dim) => {
              if (shapeField !== 1 || !(dim instanceof Uint8Array)) return;
              let size: number | string = -1;
              walk(dim, (dimField, dimValue) => {
                if (dimField === 1 && typeof dimValue === 'number') size = dimValue;
                if (dimField === 2 && dimValue instanceof Uint8Array)
                  size = new TextDecoder().decode(dimValue);
              });
              shape.push(size);
            });
          }
        });
      });
    }
  });
  return { name, type, shape };
}

/** Walks an in-memory protobuf message: varints as numbers, length-delimited fields as bytes. */
function walk(bytes: Uint8Array, visit: (field: number, value: number | Uint8Array) => void): void {
  let position = 0;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = bytes[position++];
      if (byte === undefined) throw new Error('truncated varint');
      value += (byte & 0x7f) * scale;
      scale *= 128;
      if ((byte & 0x80) === 0) return value;
    }
  };
  while (position < bytes.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) visit(field, varint());
    else if (wire === 2) {
      const length = varint();
      visit(field, bytes.subarray(position, position + length));
      position += length;
    } else if (wire === 1) position += 8;
    else if (wire === 5) position += 4;
    else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
}
