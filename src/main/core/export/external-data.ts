import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

// Protobuf field numbers (onnx.proto3): ModelProto.graph; GraphProto.node/initializer;
// NodeProto.attribute; AttributeProto.t/g/tensors/graphs; TensorProto.external_data;
// StringStringEntryProto.key/value.
const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const NODE_ATTRIBUTE = 5;
const ATTRIBUTE_TENSOR = 5;
const ATTRIBUTE_GRAPH = 6;
const ATTRIBUTE_TENSORS = 10;
const ATTRIBUTE_GRAPHS = 11;
const TENSOR_EXTERNAL_DATA = 13;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;

type Visit = (field: number, start: number, length: number) => void;

/** Positional reads of a protobuf file: length-delimited fields are visited by offset, never loaded. */
class ProtoFile {
  readonly #fd: number;
  readonly size: number;

  constructor(file: string) {
    this.#fd = openSync(file, 'r');
    this.size = fstatSync(this.#fd).size;
  }

  close(): void {
    closeSync(this.#fd);
  }

  #varint(position: number): [number, number] {
    const bytes = Buffer.alloc(10);
    const read = readSync(this.#fd, bytes, 0, 10, position);
    let value = 0;
    let scale = 1;
    for (let index = 0; index < read; index++) {
      const byte = bytes[index] as number;
      value += (byte & 0x7f) * scale;
      scale *= 128;
      if ((byte & 0x80) === 0) return [value, index + 1];
    }
    throw new Error('malformed varint');
  }

  text(start: number, length: number): string {
    if (length > 64 * 1024) throw new Error('an external data entry is implausibly long');
    const bytes = Buffer.alloc(length);
    if (readSync(this.#fd, bytes, 0, length, start) !== length) throw new Error('unexpected end of file');
    return bytes.toString('utf8');
  }

  /** Visits the length-delimited fields in [start, end); skips the others. */
  fields(start: number, end: number, visit: Visit): void {
    let position = start;
    while (position < end) {
      const [key, keyLength] = this.#varint(position);
      position += keyLength;
      const wire = key % 8;
      if (wire === 0) position += this.#varint(position)[1];
      else if (wire === 1) position += 8;
      else if (wire === 5) position += 4;
      else if (wire === 2) {
        const [length, lengthBytes] = this.#varint(position);
        position += lengthBytes;
        if (position + length > end) throw new Error('a field runs past the end of its message');
        visit(Math.floor(key / 8), position, length);
        position += length;
      } else throw new Error(`unsupported protobuf wire type ${wire}`);
    }
  }
}

/**
 * The external data files an ONNX graph refers to: every `location` of its initializers' (and
 * nested graphs' and constant attributes') `external_data`, as written in the graph (relative to
 * the graph's folder), in order of first mention. Weights are seeked past, never read.
 */
export function externalDataLocations(graphFile: string): string[] {
  const file = new ProtoFile(graphFile);
  const locations = new Set<string>();
  const tensor = (start: number, length: number) =>
    file.fields(start, start + length, (field, entryStart, entryLength) => {
      if (field !== TENSOR_EXTERNAL_DATA) return;
      let key = '';
      let value = '';
      file.fields(entryStart, entryStart + entryLength, (entryField, textStart, textLength) => {
        if (entryField === ENTRY_KEY) key = file.text(textStart, textLength);
        if (entryField === ENTRY_VALUE) value = file.text(textStart, textLength);
      });
      if (key === 'location' && value !== '') locations.add(value);
    });
  const graph = (start: number, length: number): void =>
    file.fields(start, start + length, (field, valueStart, valueLength) => {
      if (field === GRAPH_INITIALIZER) tensor(valueStart, valueLength);
      if (field !== GRAPH_NODE) return;
      file.fields(valueStart, valueStart + valueLength, (nodeField, attributeStart, attributeLength) => {
        if (nodeField !== NODE_ATTRIBUTE) return;
        file.fields(
          attributeStart,
          attributeStart + attributeLength,
          (attributeField, innerStart, innerLength) => {
            if (attributeField === ATTRIBUTE_TENSOR || attributeField === ATTRIBUTE_TENSORS)
              tensor(innerStart, innerLength);
            if (attributeField === ATTRIBUTE_GRAPH || attributeField === ATTRIBUTE_GRAPHS)
              graph(innerStart, innerLength);
          },
        );
      });
    });
  try {
    file.fields(0, file.size, (field, start, length) => {
      if (field === MODEL_GRAPH) graph(start, length);
    });
    return [...locations];
  } finally {
    file.close();
  }
}
