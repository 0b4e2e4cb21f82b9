// A graph's producers, readers and constants, fresh names in it, and dead-node removal: what the
// graph rewrites at load (attention-rewrite.ts, logits-rewrite.ts) match and write with.
import { onnx } from 'onnx-proto';
import type { TensorStore } from './matmul-rewrite';
import { subgraphs } from './subgraphs';

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT32 = onnx.TensorProto.DataType.INT32;
const INT64 = onnx.TensorProto.DataType.INT64;

/** Producers, readers and constants of one graph. */
export class GraphIndex {
  readonly #producers = new Map<string, onnx.INodeProto>();
  readonly #readers = new Map<string, onnx.INodeProto[]>();
  readonly #pinned = new Set<string>();
  readonly #outputs = new Set<string>();
  readonly #initializers = new Map<string, onnx.ITensorProto>();
  readonly #inputs: ReadonlyMap<string, onnx.IValueInfoProto>;

  constructor(
    graph: onnx.IGraphProto,
    private readonly store: TensorStore,
  ) {
    for (const node of graph.node ?? []) {
      for (const output of node.output ?? []) if (output) this.#producers.set(output, node);
      for (const input of node.input ?? []) {
        if (!input) continue;
        const list = this.#readers.get(input) ?? [];
        list.push(node);
        this.#readers.set(input, list);
      }
      for (const inner of subgraphs(node)) for (const name of namesRead(inner)) this.#pinned.add(name);
    }
    for (const output of graph.output ?? []) {
      this.#pinned.add(output.name ?? '');
      this.#outputs.add(output.name ?? '');
    }
    for (const tensor of graph.initializer ?? []) this.#initializers.set(tensor.name ?? '', tensor);
    this.#inputs = new Map((graph.input ?? []).map((value) => [value.name ?? '', value]));
  }

  /** The node that makes `name`, of any type; null for inputs and constants. */
  producer(name: string): onnx.INodeProto | null {
    return this.#producers.get(name) ?? null;
  }

  /** The node that makes `name`, if it is of `opType` (default domain). */
  made(name: string, opType: string): onnx.INodeProto | null {
    const node = this.#producers.get(name);
    return node && node.opType === opType && !node.domain ? node : null;
  }

  readers(name: string): readonly onnx.INodeProto[] {
    return this.#readers.get(name) ?? [];
  }

  /** True when only `node` reads `name` (no other node, subgraph or graph output). */
  only(name: string, node: onnx.INodeProto): boolean {
    const list = this.readers(name);
    return !this.#pinned.has(name) && list.length > 0 && list.every((reader) => reader === node);
  }

  isOutput(name: string): boolean {
    return this.#outputs.has(name);
  }

  input(name: string): onnx.IValueInfoProto | undefined {
    return this.#inputs.get(name);
  }

  /** A constant tensor's proto: an initializer (not also a graph input) or a Constant node's value. */
  tensor(name: string): onnx.ITensorProto | null {
    if (this.#inputs.has(name)) return null;
    const initializer = this.#initializers.get(name);
    if (initializer !== undefined) return initializer;
    const node = this.made(name, 'Constant');
    return node?.attribute?.find((attribute) => attribute.name === 'value')?.t ?? null;
  }

  /** A constant integer tensor's values, or null. */
  ints(name: string): number[] | null {
    const tensor = this.tensor(name);
    if (tensor === null) return null;
    if (tensor.dataType === INT64) {
      if (tensor.int64Data && tensor.int64Data.length > 0) return tensor.int64Data.map(Number);
      const bytes = this.#bytes(tensor);
      return Array.from(new BigInt64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8), Number);
    }
    if (tensor.dataType === INT32) {
      if (tensor.int32Data && tensor.int32Data.length > 0) return [...tensor.int32Data];
      const bytes = this.#bytes(tensor);
      return Array.from(new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4));
    }
    return null;
  }

  /** A constant float32 tensor's values, or null. */
  floats(name: string): Float32Array | null {
    const tensor = this.tensor(name);
    if (tensor === null || tensor.dataType !== FLOAT) return null;
    if (tensor.floatData && tensor.floatData.length > 0) return Float32Array.from(tensor.floatData);
    if (!this.store.readable(tensor)) return null;
    const bytes = this.#bytes(tensor);
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  }

  /** A constant float32 scalar (one element), or null. */
  scalar(name: string): number | null {
    const values = this.floats(name);
    return values !== null && values.length === 1 ? (values[0] as number) : null;
  }

  #bytes(tensor: onnx.ITensorProto): Uint8Array {
    const bytes = this.store.readable(tensor) ? this.store.bytes(tensor) : new Uint8Array(0);
    // A copy where the bytes are not aligned for the typed array over them.
    return bytes.byteOffset % 8 === 0 ? bytes : new Uint8Array(bytes);
  }
}

/** Fresh value names in a graph. */
export class Names {
  readonly #taken = new Set<string>();
  constructor(graph: onnx.IGraphProto) {
    for (const value of [...(graph.input ?? []), ...(graph.output ?? [])]) this.#taken.add(value.name ?? '');
    for (const tensor of graph.initializer ?? []) this.#taken.add(tensor.name ?? '');
    for (const node of graph.node ?? [])
      for (const name of [...(node.input ?? []), ...(node.output ?? [])]) this.#taken.add(name);
  }
  fresh(base: string): string {
    let name = base;
    for (let count = 1; this.#taken.has(name); count++) name = `${base}_${count}`;
    this.#taken.add(name);
    return name;
  }
}

/** Drops nodes nothing reads and initializers nothing reads (those that are not also graph inputs). */
export function removeDead(graph: onnx.IGraphProto): void {
  for (;;) {
    const used = new Set((graph.output ?? []).map((value) => value.name ?? ''));
    for (const node of graph.node ?? []) {
      for (const input of node.input ?? []) used.add(input);
      for (const inner of subgraphs(node)) for (const name of namesRead(inner)) used.add(name);
    }
    const nodes = graph.node ?? [];
    const kept = nodes.filter((node) => (node.output ?? []).some((output) => used.has(output)));
    if (kept.length === nodes.length) {
      const inputs = new Set((graph.input ?? []).map((value) => value.name ?? ''));
      graph.initializer = (graph.initializer ?? []).filter(
        (tensor) => used.has(tensor.name ?? '') || inputs.has(tensor.name ?? ''),
      );
      return;
    }
    graph.node = kept;
  }
}

/** Every name a graph's nodes read (its own values included), recursively. */
function namesRead(graph: onnx.IGraphProto): Set<string> {
  const names = new Set<string>();
  for (const node of graph.node ?? []) {
    for (const input of node.input ?? []) if (input) names.add(input);
    for (const inner of subgraphs(node)) for (const name of namesRead(inner)) names.add(name);
  }
  return names;
}
