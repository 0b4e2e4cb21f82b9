// The graph half of the MatMulNBits rewrite (fast-matmul.ts): finds the MatMuls and Gemms over
// constant float weights, quantizes their weights to MatMulNBits blocks, switches MatMulNBits
// nodes to the integer path, and says what it left and why. Where tensor bytes come from and go
// to (the graph, or data files) is the caller's TensorStore.
import { onnx } from 'onnx-proto';
import { RunnerError } from '../runner-error';
import type { FastMatMulReport, LeftMatMul, LeftReason } from './fast-matmul-report';
import { float32ToHalf, halfBits, halfToFloat32 } from './float16';
import { squaresAsPow } from './norm-rewrite';
import { isOutput, readers, subgraphs, usedInside } from './subgraphs';
import { BLOCK_SIZE, quantizeBlocks, quantizeRowBlocks, type BlockSize } from './nbits-blocks';

/** MatMulNBits' integer compute path: int8 activations (quantized per block) against the weights. */
const ACCURACY_INT8 = 4;
const MS_DOMAIN = 'com.microsoft';
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const FLOAT16 = onnx.TensorProto.DataType.FLOAT16;
const UINT8 = onnx.TensorProto.DataType.UINT8;
/** The LM head's bits where the options name none: its error lands straight on the logits. */
export const DEFAULT_HEAD_BITS = 8;

/** How a graph's matrix products are rewritten. */
export interface FastMatMulOptions {
  /** Quantize float MatMul weights to this many bits, or leave them (null): MatMulNBits nodes still switch. */
  readonly bits: 4 | 8 | null;
  /**
   * Bits for the LM head (an initializer named `lm_head…`, or the embedding table of a tied head),
   * whose error lands straight on the logits; default 8.
   */
  readonly headBits?: 4 | 8;
  /**
   * Values of K a block (one scale each), for every weight the rewrite quantizes; default 32, the
   * blocks llama.cpp's Q8_0 / Q4_0 hold. Wider blocks cost accuracy for fewer scales.
   */
  readonly blockSize?: BlockSize;
  /** Rewrite RMSNorms' Mul(x, x) to the Pow(x, 2) onnxruntime fuses (norm-rewrite.ts); default true. */
  readonly norms?: boolean;
}

/** Reads and places tensors' bytes for a rewrite: in memory, or through data files. */
export interface TensorStore {
  /** True when the bytes of `tensor` can be read here. */
  readable(tensor: onnx.ITensorProto): boolean;
  bytes(tensor: onnx.ITensorProto): Uint8Array;
  /** Gives the new initializer `tensor` its bytes. */
  place(tensor: onnx.ITensorProto, bytes: Uint8Array): void;
}

/** The initializers a quantized weight became, and its bits. */
interface Blocks {
  readonly weight: string;
  readonly scales: string;
  readonly bits: number;
}

/** A weight that a MatMul or Gemm multiplies by, and how the node holds it. */
interface Candidate {
  readonly node: onnx.INodeProto;
  readonly weight: onnx.ITensorProto;
  /** [N, K]: Gemm's B under transB = 1, or the table under a Transpose (a tied head). */
  readonly rows: boolean;
  readonly k: number;
  readonly n: number;
  /** Gemm's C, or null. */
  readonly bias: string | null;
  /** The Transpose node that fed B, where this node was its only reader. */
  readonly transpose: onnx.INodeProto | null;
  readonly head: boolean;
  readonly blockSize: BlockSize;
}

/** Rewrites `model` in place; its new tensors get their bytes through `store`. */
export function rewrite(
  model: onnx.ModelProto,
  options: FastMatMulOptions,
  store: TensorStore,
): FastMatMulReport {
  const graph = model.graph;
  if (!graph) throw new RunnerError('model_load_failed', 'The model file has no graph.');
  const switched = switchAccuracy(graph.node ?? []);
  const blockSize = options.blockSize ?? BLOCK_SIZE;
  const left: LeftMatMul[] = [];
  let quantized = 0;
  let heads = 0;
  if (options.bits !== null) {
    const candidates: Candidate[] = [];
    for (const node of graph.node ?? []) {
      const found = candidate(graph, node, store, blockSize);
      if (found === null) continue;
      if ('reason' in found) left.push(found);
      else candidates.push(found);
    }
    const initializers = new Map((graph.initializer ?? []).map((tensor) => [tensor.name ?? '', tensor]));
    const made = new Map<string, Blocks>();
    const after = new Map<onnx.INodeProto, onnx.INodeProto>();
    const removed = new Set<onnx.INodeProto>();
    for (const found of candidates) {
      const name = found.weight.name ?? '';
      const bits = found.head ? (options.headBits ?? DEFAULT_HEAD_BITS) : options.bits;
      let blocks = made.get(name);
      if (blocks === undefined) {
        blocks = quantizeInto(graph, found, bits, store);
        made.set(name, blocks);
      }
      const add = toMatMulNBits(found, blocks, initializers.get(found.bias ?? ''));
      if (add !== null) after.set(found.node, add);
      if (found.transpose !== null) removed.add(found.transpose);
      quantized++;
      if (found.head) heads++;
    }
    graph.node = (graph.node ?? []).flatMap((node) => {
      if (removed.has(node)) return [];
      const add = after.get(node);
      return add === undefined ? [node] : [node, add];
    });
    dropUnused(graph, new Set(candidates.map((found) => found.weight.name ?? '')));
  }
  // A graph that is rewritten anyway also gets its RMSNorms in the form onnxruntime fuses.
  const norms = options.norms !== false && (options.bits !== null || switched > 0) ? squaresAsPow(model) : 0;
  const opsets = model.opsetImport ?? [];
  if ((switched > 0 || quantized > 0) && !opsets.some((entry) => entry.domain === MS_DOMAIN))
    model.opsetImport = [...opsets, { domain: MS_DOMAIN, version: 1 }];
  return {
    quantized,
    heads,
    switched,
    ...(norms > 0 ? { norms } : {}),
    left,
    ...(blockSize === BLOCK_SIZE ? {} : { blockSize }),
  };
}

/**
 * Makes the candidate's node a MatMulNBits over `blocks`. Gemm's C rides on MatMulNBits' bias
 * input where it is a [N] initializer of the graph's type; any other C is added after, by the
 * Add node returned (null where none is needed).
 */
function toMatMulNBits(
  found: Candidate,
  blocks: Blocks,
  bias: onnx.ITensorProto | undefined,
): onnx.INodeProto | null {
  const output = found.node.output?.[0] ?? '';
  const input = found.node.input ?? [];
  const asInput =
    bias !== undefined &&
    bias.dataType === found.weight.dataType &&
    (bias.dims ?? []).length === 1 &&
    Number(bias.dims?.[0]) === found.n;
  let add: onnx.INodeProto | null = null;
  if (found.bias !== null && !asInput) {
    found.node.output = [`${output}.nbits_product`];
    add = {
      opType: 'Add',
      name: `${found.node.name ?? output}.bias`,
      input: [`${output}.nbits_product`, found.bias],
      output: [output],
    };
  }
  found.node.opType = 'MatMulNBits';
  found.node.domain = MS_DOMAIN;
  // Inputs 3 and 4 (zero points, g_idx) stay empty: symmetric blocks sit on the default zero point.
  found.node.input = [
    input[0] ?? '',
    blocks.weight,
    blocks.scales,
    ...(asInput && found.bias !== null ? ['', '', found.bias] : []),
  ];
  found.node.attribute = [
    intAttribute('K', found.k),
    intAttribute('N', found.n),
    intAttribute('bits', blocks.bits),
    intAttribute('block_size', found.blockSize),
    intAttribute('accuracy_level', ACCURACY_INT8),
  ];
  return add;
}

/** MatMulNBits nodes at accuracy levels 0-3 switched to 4; returns how many. */
function switchAccuracy(nodes: readonly onnx.INodeProto[]): number {
  let switched = 0;
  for (const node of nodes) {
    if (node.opType !== 'MatMulNBits' || node.domain !== MS_DOMAIN) continue;
    const attributes = node.attribute ?? [];
    const level = attributes.find((attribute) => attribute.name === 'accuracy_level');
    if (level && Number(level.i) >= ACCURACY_INT8) continue;
    node.attribute = [
      ...attributes.filter((attribute) => attribute.name !== 'accuracy_level'),
      intAttribute('accuracy_level', ACCURACY_INT8),
    ];
    switched++;
  }
  return switched;
}

/**
 * The top-level MatMulNBits nodes of `model` that round their activations (accuracy_level 2 to 4)
 * switched to float ones (level 0, the weights dequantized); returns how many. For a check that
 * compares two graphs: int8 rounding magnifies the last ulp of a row into a whole step.
 */
export function floatActivations(model: onnx.IModelProto): number {
  let switched = 0;
  for (const node of model.graph?.node ?? []) {
    if (node.opType !== 'MatMulNBits' || node.domain !== MS_DOMAIN) continue;
    const attributes = node.attribute ?? [];
    if (intOf(node, 'accuracy_level', 0) <= 1) continue;
    node.attribute = attributes.filter((attribute) => attribute.name !== 'accuracy_level');
    switched++;
  }
  return switched;
}

/**
 * What a MatMul or Gemm node's weight allows: a candidate, the reason it stays as it is, or null
 * for any other node.
 */
function candidate(
  graph: onnx.IGraphProto,
  node: onnx.INodeProto,
  store: TensorStore,
  blockSize: BlockSize,
): Candidate | LeftMatMul | null {
  if ((node.opType !== 'MatMul' && node.opType !== 'Gemm') || node.domain) return null;
  const input = node.input ?? [];
  const b = input[1] ?? '';
  const leave = (reason: LeftReason, weight = b): LeftMatMul => ({ node: node.name ?? '', weight, reason });
  const initializer = (name: string) => (graph.initializer ?? []).find((tensor) => tensor.name === name);
  let weight = initializer(b);
  let rows = false;
  let via: onnx.INodeProto | null = null;
  let bias: string | null = null;
  if (node.opType === 'Gemm') {
    const beta = floatOf(node, 'beta', 1);
    if (intOf(node, 'transA', 0) !== 0 || floatOf(node, 'alpha', 1) !== 1 || (input[2] && beta !== 1))
      return leave('gemm-form');
    rows = intOf(node, 'transB', 0) === 1;
    bias = input[2] || null;
  } else if (weight === undefined) {
    // MatMul(h, Transpose(E)): a tied head exported with the transpose as a node.
    const producer = (graph.node ?? []).find((other) => other.output?.includes(b));
    const perm = producer?.attribute?.find((attribute) => attribute.name === 'perm')?.ints?.map(Number);
    const source = producer?.opType === 'Transpose' && !producer.domain ? producer.input?.[0] : undefined;
    if (producer !== undefined && source !== undefined && (perm === undefined || `${perm}` === '1,0')) {
      weight = initializer(source);
      rows = true;
      via = producer;
    }
  }
  if (weight === undefined) return leave('not-constant');
  const name = weight.name ?? '';
  const dims = (weight.dims ?? []).map(Number);
  if ((weight.dataType !== FLOAT && weight.dataType !== FLOAT16) || dims.length !== 2)
    return leave('shape', name);
  const [k, n] = (rows ? [dims[1], dims[0]] : dims) as [number, number];
  if (k % blockSize !== 0) return leave('k-not-blocks', name);
  if (!store.readable(weight)) return leave('external', name);
  // Other readers of the weight may only be embedding lookups, which keep the float table.
  const others = readers(graph, name).filter((reader) => reader !== node && reader !== via);
  const lookups = others.filter((reader) => reader.opType === 'Gather' && reader.input?.[0] === name);
  if (lookups.length !== others.length || isOutput(graph, name) || usedInside(graph, name))
    return leave('shared', name);
  // The Transpose goes with its last reader; one that feeds other nodes too stays for them.
  const transpose = via !== null && readers(graph, b).length === 1 && !isOutput(graph, b) ? via : null;
  const head = name.startsWith('lm_head') || lookups.length > 0 || feedsLogits(graph, node);
  return { node, weight, rows, k, n, bias, transpose, head, blockSize };
}

/** Quantizes the candidate's weight and adds its blocks and scales as initializers. */
function quantizeInto(graph: onnx.IGraphProto, found: Candidate, bits: 4 | 8, store: TensorStore): Blocks {
  const name = found.weight.name ?? '';
  const half = found.weight.dataType === FLOAT16;
  const bytes = store.bytes(found.weight);
  if (bytes.byteLength !== found.k * found.n * (half ? 2 : 4))
    throw new RunnerError(
      'model_load_failed',
      `The model's weight "${name}" holds ${bytes.byteLength} bytes where its shape needs ${found.k * found.n * (half ? 2 : 4)}.`,
    );
  const values = half ? halfToFloat32(halfBits(aligned(bytes, 2))) : floatView(aligned(bytes, 4));
  const size = found.blockSize;
  const blocks = (found.rows ? quantizeRowBlocks : quantizeBlocks)(values, found.k, found.n, bits, size);
  const packed: onnx.ITensorProto = {
    name: `${name}.nbits_weight`,
    dataType: UINT8,
    dims: [found.n, found.k / size, (size * bits) / 8],
  };
  const scales: onnx.ITensorProto = {
    name: `${name}.nbits_scales`,
    // MatMulNBits' scales are of A's type: half precision in an fp16 graph.
    dataType: found.weight.dataType,
    dims: [found.n * (found.k / size)],
  };
  store.place(packed, blocks.packed);
  store.place(scales, viewBytes(half ? float32ToHalf(blocks.scales) : blocks.scales));
  graph.initializer = [...(graph.initializer ?? []), packed, scales];
  return { weight: packed.name ?? '', scales: scales.name ?? '', bits };
}

/** Initializers in `names` that nothing reads any more, removed (a tied table stays for its Gather). */
function dropUnused(graph: onnx.IGraphProto, names: ReadonlySet<string>): void {
  const unused = new Set(
    [...names].filter(
      (name) => readers(graph, name).length === 0 && !isOutput(graph, name) && !usedInside(graph, name),
    ),
  );
  graph.initializer = (graph.initializer ?? []).filter((tensor) => !unused.has(tensor.name ?? ''));
  graph.input = (graph.input ?? []).filter((value) => !unused.has(value.name ?? ''));
}

/** Nodes between an LM head's product and the `logits` output: bias, reshapes, casts, softcapping. */
const HEAD_TAIL = new Set([
  'Add',
  'Reshape',
  'Identity',
  'Cast',
  'Mul',
  'Div',
  'Tanh',
  'Squeeze',
  'Unsqueeze',
]);

/**
 * True when `node`'s product reaches the graph output `logits` through HEAD_TAIL nodes only: the LM
 * head of an export that names its weight `onnx::MatMul_…` rather than `lm_head.weight`.
 */
function feedsLogits(graph: onnx.IGraphProto, node: onnx.INodeProto): boolean {
  let values = [...(node.output ?? [])];
  for (let depth = 0; depth < 8 && values.length > 0; depth++) {
    if (values.includes('logits') && isOutput(graph, 'logits')) return true;
    values = values
      .flatMap((value) => readers(graph, value))
      .filter((reader) => HEAD_TAIL.has(reader.opType ?? '') && !reader.domain)
      .flatMap((reader) => reader.output ?? []);
  }
  return false;
}

/** Every tensor of the graph and its subgraphs: initializers, and constants held in attributes. */
export function* tensorsOf(
  graph: onnx.IGraphProto | null | undefined,
): Generator<{ tensor: onnx.ITensorProto; initializer: boolean }> {
  if (!graph) return;
  for (const tensor of graph.initializer ?? []) yield { tensor, initializer: true };
  for (const node of graph.node ?? []) {
    for (const attribute of node.attribute ?? [])
      for (const tensor of [...(attribute.t ? [attribute.t] : []), ...(attribute.tensors ?? [])])
        yield { tensor, initializer: false };
    for (const inner of subgraphs(node)) yield* tensorsOf(inner);
  }
}

/** The little-endian bytes of a tensor held in the graph, whichever field holds them. */
export function embeddedBytes(tensor: onnx.ITensorProto): Uint8Array {
  if (tensor.rawData && tensor.rawData.byteLength > 0) return tensor.rawData;
  if (tensor.dataType === FLOAT && tensor.floatData) return viewBytes(Float32Array.from(tensor.floatData));
  // NOTE: float16 values outside raw_data sit one to an int32_data entry, as their bit patterns.
  if (tensor.dataType === FLOAT16 && tensor.int32Data) return viewBytes(Uint16Array.from(tensor.int32Data));
  return new Uint8Array(0);
}

/** True when the rewrite changed the graph. */
export function changed(report: FastMatMulReport): boolean {
  return report.quantized > 0 || report.switched > 0 || (report.norms ?? 0) > 0;
}

/** `bytes` starting at a multiple of `size` bytes (copied where they do not). */
function aligned(bytes: Uint8Array, size: number): Uint8Array {
  // NOTE: a copy by constructor: Buffer's slice() is a view, at the same misaligned offset.
  return bytes.byteOffset % size === 0 ? bytes : new Uint8Array(bytes);
}

function floatView(bytes: Uint8Array): Float32Array {
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

function viewBytes(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

function intOf(node: onnx.INodeProto, name: string, fallback: number): number {
  const found = node.attribute?.find((attribute) => attribute.name === name);
  return found ? Number(found.i) : fallback;
}

function floatOf(node: onnx.INodeProto, name: string, fallback: number): number {
  const found = node.attribute?.find((attribute) => attribute.name === name);
  return found ? Number(found.f) : fallback;
}

function intAttribute(name: string, value: number): onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i: value };
}
