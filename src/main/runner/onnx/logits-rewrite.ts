// The logits of a prompt's last position only. An export without `num_logits_to_keep` computes its
// lm_head over every position it is fed, and a prompt's next token is chosen from the last row
// alone: on a wide vocabulary that head is most of a prefill (133 prompt tokens × 151,936 logits:
// 2.6 GFLOP and 80 MB written, for one row of 600 KB), and it caps how many tokens a prefill run
// may take. This gives such a graph the input newer Hugging Face exports declare,
// `num_logits_to_keep` (an int64 scalar: logits for the last k positions, 0 for all), as a Slice of
// the head's input along the sequence axis, so the runner feeds it as it feeds those exports.
//
// The matcher is strict: `logits` must be made by a MatMul with a constant weight, a MatMulNBits,
// or a Gemm over the hidden state flattened to [B·S, H] and shaped back, through position-wise ops only (Cast, Identity, Tanh, and Add/Sub/Mul/Div with a
// constant that does not vary by position), each read by nothing else. An int8 head
// (DynamicQuantizeLinear → MatMulInteger) is left: its activation scale is taken over every
// position fed, so the last row alone would be quantized differently.
import { onnx } from 'onnx-proto';
import { GraphIndex, Names } from './graph-index';
import type { TensorStore } from './matmul-rewrite';

const MS_DOMAIN = 'com.microsoft';
const INT64 = onnx.TensorProto.DataType.INT64;
/** The input's name, as Hugging Face's exports (and transformers.js) spell it. */
export const KEEP_INPUT = 'num_logits_to_keep';
/** Inputs that already say how many positions' logits to compute. */
export const KEEP_NAMES: ReadonlySet<string> = new Set([KEEP_INPUT, 'logits_to_keep']);
/** Ops that act on each position by itself (one dynamic input; a binary op's other input constant). */
const UNARY = new Set(['Cast', 'Identity', 'Tanh']);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div']);
/** How far back from `logits` the head may be, and how deep its weight may be derived from constants. */
const MAX_CHAIN = 8;
const MAX_WEIGHT_DEPTH = 3;

/**
 * Adds `num_logits_to_keep` to `model`'s main graph and slices the lm_head's input by it; returns
 * whether it did. Graphs that declare it (or `logits_to_keep`) already, that have no rank-3
 * `logits` output, whose head is not matched, or at opsets below 13 are left.
 */
export function keepLastLogits(model: onnx.ModelProto, store: TensorStore): boolean {
  const graph = model.graph;
  const opset = Number((model.opsetImport ?? []).find((entry) => !entry.domain)?.version ?? 0);
  if (!graph || opset < 13) return false;
  if ((graph.input ?? []).some((value) => KEEP_NAMES.has(value.name ?? ''))) return false;
  const output = (graph.output ?? []).find((value) => value.name === 'logits');
  const dims = output?.type?.tensorType?.shape?.dim;
  if (output === undefined || (dims !== undefined && dims !== null && dims.length !== 3)) return false;
  const index = new GraphIndex(graph, store);
  const head = findHead(index);
  if (head === null) return false;

  const names = new Names(graph);
  const shape = names.fresh('lodge.keep.shape');
  const ends = names.fresh('lodge.keep.ends');
  const axes = names.fresh('lodge.keep.axes');
  const count = names.fresh('lodge.keep.count');
  const start = names.fresh('lodge.keep.start');
  const kept = names.fresh(`${head.input}.kept`);
  const slicing: onnx.INodeProto[] = [
    {
      opType: 'Reshape',
      name: names.fresh('lodge.keep.reshape'),
      input: [KEEP_INPUT, shape],
      output: [count],
    },
    { opType: 'Neg', name: names.fresh('lodge.keep.negate'), input: [count], output: [start] },
    {
      opType: 'Slice',
      name: names.fresh('lodge.keep.slice'),
      input: [head.input, start, ends, axes],
      output: [kept],
    },
  ];
  for (const reader of head.readers)
    reader.input = (reader.input ?? []).map((input) => (input === head.input ? kept : input));
  // The slice goes where the head first reads the hidden state (made before it, so in order).
  const first = (graph.node ?? []).find((node) => head.readers.includes(node));
  graph.node = (graph.node ?? []).flatMap((node) => (node === first ? [...slicing, node] : [node]));
  graph.initializer = [
    ...(graph.initializer ?? []),
    int64s(shape, [1n]),
    int64s(ends, [BigInt.asIntN(64, (1n << 63n) - 1n)]),
    int64s(axes, [1n]),
  ];
  graph.input = [
    ...(graph.input ?? []),
    { name: KEEP_INPUT, type: { tensorType: { elemType: INT64, shape: { dim: [] } } } },
  ];
  // The declared shapes of the values after the slice no longer hold along the sequence axis.
  const changed = new Set(head.changed);
  graph.valueInfo = (graph.valueInfo ?? []).filter((value) => !changed.has(value.name ?? ''));
  if (dims !== undefined && dims !== null && dims.length === 3) dims[1] = { dimParam: 'logits_positions' };
  return true;
}

/** Where the lm_head reads the hidden state: that value, the nodes reading it, the values after. */
interface Head {
  readonly input: string;
  readonly readers: readonly onnx.INodeProto[];
  readonly changed: readonly string[];
}

/**
 * The lm_head `logits` is made by through position-wise ops: a MatMul with a constant weight, a
 * MatMulNBits, or a Gemm between Reshapes that flatten [B, S, H] and restore [B, S, V] (the form
 * of a tied head over the embedding matrix); null where the graph differs.
 */
function findHead(index: GraphIndex): Head | null {
  if (index.readers('logits').length > 0) return null;
  let name = 'logits';
  let consumer: onnx.INodeProto | null = null;
  const changed: string[] = [];
  for (let step = 0; step < MAX_CHAIN; step++) {
    const node = index.producer(name);
    if (node === null || (consumer !== null && !index.only(name, consumer))) return null;
    changed.push(name);
    const inputs = (node.input ?? []).filter((input) => input !== '');
    const [a, b] = inputs;
    if (node.domain === MS_DOMAIN && node.opType === 'MatMulNBits')
      return a !== undefined && b !== undefined && index.tensor(b) !== null
        ? { input: a, readers: [node], changed }
        : null;
    if (node.domain) return null;
    if (node.opType === 'MatMul')
      return a !== undefined && b !== undefined && constantWeight(index, b, 0)
        ? { input: a, readers: [node], changed }
        : null;
    if (node.opType === 'Reshape') return flatHead(index, node, changed);
    let next: string | undefined;
    if (UNARY.has(node.opType ?? '') && inputs.length === 1) next = a;
    else if (BINARY.has(node.opType ?? '') && a !== undefined && b !== undefined) {
      if (positionFree(index, b)) next = a;
      else if (positionFree(index, a)) next = b;
    }
    if (next === undefined) return null;
    name = next;
    consumer = node;
  }
  return null;
}

/**
 * Reshape(Gemm(Reshape(h, [−1, H]), W, bias), Concat(Slice(Shape(h), [0], [2]), [V])): the head
 * over a flattened hidden state, its output shaped back from the hidden state's own shape.
 */
function flatHead(index: GraphIndex, restore: onnx.INodeProto, changed: string[]): Head | null {
  const [product, target] = restore.input ?? [];
  if (!product || !target) return null;
  const gemm = index.made(product, 'Gemm');
  const [flat, weight, bias] = gemm?.input ?? [];
  if (!gemm || !index.only(product, restore) || !flat || !weight || !constantWeight(index, weight, 0))
    return null;
  if (bias && !positionFree(index, bias)) return null;
  const flatten = index.made(flat, 'Reshape');
  const hidden = flatten?.input?.[0];
  const flatShape = flatten ? index.ints(flatten.input?.[1] ?? '') : null;
  if (!flatten || !hidden || !index.only(flat, gemm) || flatShape?.length !== 2 || flatShape[0] !== -1)
    return null;
  const concat = index.made(target, 'Concat');
  const [leading, vocab] = concat?.input ?? [];
  if (!concat || !index.only(target, restore) || concat.input?.length !== 2 || !leading || !vocab)
    return null;
  if (index.ints(vocab)?.length !== 1) return null;
  const slice = index.made(leading, 'Slice');
  const [shapeOut, starts, ends, axes] = slice?.input ?? [];
  if (!slice || !index.only(leading, concat) || !shapeOut || !starts || !ends) return null;
  if (index.ints(starts)?.join() !== '0' || index.ints(ends)?.join() !== '2') return null;
  if (axes && index.ints(axes)?.join() !== '0') return null;
  const shape = index.made(shapeOut, 'Shape');
  if (!shape || shape.input?.[0] !== hidden || !index.only(shapeOut, slice)) return null;
  return {
    input: hidden,
    readers: [flatten, shape],
    changed: [...changed, product, flat, target, leading, shapeOut],
  };
}

/** A constant the same at every position: a scalar or one whose dims are all 1 but the last. */
function positionFree(index: GraphIndex, name: string): boolean {
  const tensor = index.tensor(name);
  if (tensor === null) return false;
  const dims = (tensor.dims ?? []).map(Number);
  return dims.slice(0, -1).every((dim) => dim === 1);
}

/** A 2-D weight made of constants only (an initializer, or a Transpose, Cast or dequantization of them). */
function constantWeight(index: GraphIndex, name: string, depth: number): boolean {
  const tensor = index.tensor(name);
  if (tensor !== null) return depth > 0 || (tensor.dims ?? []).length === 2;
  if (depth >= MAX_WEIGHT_DEPTH) return false;
  const node = index.producer(name);
  if (
    node === null ||
    node.domain ||
    !['Transpose', 'Cast', 'DequantizeLinear', 'Identity'].includes(node.opType ?? '')
  )
    return false;
  return (node.input ?? []).every((input) => input === '' || constantWeight(index, input, depth + 1));
}

function int64s(name: string, values: readonly bigint[]): onnx.ITensorProto {
  return {
    name,
    dataType: INT64,
    dims: [values.length],
    rawData: new Uint8Array(BigInt64Array.from(values).buffer),
  };
}
