// A screened LM head: exact greedy tokens for a quarter of the head's weight reads. On a wide
// vocabulary the lm_head is most of a decode step (151,936 × 128 float32 weights: 78 MB read per
// token, 3.7 of 5.2 ms on the benchmark's model), and a greedy step needs only its largest logit.
// This rewrite gives the graph a second head beside the exact one: the same product over int8
// weights (one scale per vocabulary entry) and int8 activations (one scale per run), as
// DynamicQuantizeLinear → MatMulInteger compute it. An If on the bool input `lodge.exact_logits`
// runs one head or the other; the head's input comes out as `lodge.head_input`, and what the
// screened head's quantization made of it as `lodge.head_levels`, `_scale` and `_zero`. The runner
// (llm/head-screen.ts) bounds how far each screened logit can be from the exact one, computes the
// exact logits of the few tokens that could be the largest from the float weights kept here, and so
// picks exactly the token the exact head would. Sampling, log-probabilities, and any run that needs
// every logit take the exact head.
//
// The matcher is strict: `logits` must be made, through Identity, Reshape and Cast to float32
// only, by a MatMul or a Gemm (alpha 1, A not transposed) over a constant float32 weight (an
// initializer, or a Transpose of one: a tied head over the embedding table), with at most one
// constant [V] bias (Gemm's C or one Add). Anything else (a softcap, a quantized head, a float16
// head) is left exact.
import { onnx } from 'onnx-proto';
import { GraphIndex, Names } from './graph-index';
import type { TensorStore } from './matmul-rewrite';
import type { ScreenTables } from './screen-tables';

export type { ScreenTables } from './screen-tables';

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const UINT8 = onnx.TensorProto.DataType.UINT8;
const BOOL = onnx.TensorProto.DataType.BOOL;
const INT = onnx.AttributeProto.AttributeType.INT;
const GRAPH = onnx.AttributeProto.AttributeType.GRAPH;

/** The bool scalar the runner feeds: true runs the exact head, false the screened one. */
export const EXACT_INPUT = 'lodge.exact_logits';
/** The head's input as a graph output: the hidden state the screened logits came from, [rows, H]. */
export const HIDDEN_OUTPUT = 'lodge.head_input';
/**
 * What the screened head's DynamicQuantizeLinear made of that hidden state (the uint8 levels, their
 * scale and zero point; placeholders from the exact head), so the runner bounds the rounding error
 * from the values MatMulInteger read, not from a copy of the quantization.
 */
export const LEVELS_OUTPUT = 'lodge.head_levels';
export const SCALE_OUTPUT = 'lodge.head_scale';
export const ZERO_OUTPUT = 'lodge.head_zero';
/**
 * Heads smaller than this many weights (4 MiB of float32) are left: their weight read costs less
 * than the screen's own work.
 */
export const SCREEN_MIN_WEIGHTS = 1 << 20;
/** Int8 weights as MatMulInteger reads them: unsigned, around this zero point. */
const WEIGHT_ZERO = 128;
/** Steps of a weight's scale each side of zero: symmetric int8. */
const WEIGHT_LEVELS = 127;
/**
 * Relative slack for the float arithmetic of the screened head (the products' scales, the cast of
 * the integer sums): a few ulps of float32 (6e-8 each), taken generously.
 */
const FLOAT_SLACK = 1e-6;
/**
 * Per term of the hidden size, the slack for the exact head's own float32 summation (which the
 * runner reproduces, llm/head-screen.ts): 2^-23, twice float32's unit roundoff.
 */
const SUMMATION_SLACK = 2 ** -23;

/** The head's product node and what it computes with. */
interface Product {
  readonly node: onnx.INodeProto;
  /** The hidden state the head reads ([B, S, H] for a MatMul, [B·S, H] for a flat Gemm). */
  readonly input: string;
  readonly rows: Float32Array;
  readonly vocab: number;
  readonly hidden: number;
  readonly bias: Float32Array | null;
  /** True where the product node itself adds the bias (Gemm's C), so the screened branch must too. */
  readonly biasInside: string | null;
}

/**
 * Gives `model`'s lm_head a screened int8 twin behind an If on {@link EXACT_INPUT} and adds
 * {@link HIDDEN_OUTPUT}; returns the tables the runner screens with, or null where the head is not
 * matched, is smaller than `minWeights`, or the opset is below 13. The exact head is kept as it was.
 */
export function screenHead(
  model: onnx.ModelProto,
  store: TensorStore,
  minWeights = SCREEN_MIN_WEIGHTS,
): ScreenTables | null {
  const graph = model.graph;
  const opset = Number((model.opsetImport ?? []).find((entry) => !entry.domain)?.version ?? 0);
  if (!graph || opset < 13) return null;
  const taken = new Set([...(graph.input ?? []), ...(graph.output ?? [])].map((value) => value.name));
  if ([EXACT_INPUT, HIDDEN_OUTPUT, LEVELS_OUTPUT, SCALE_OUTPUT, ZERO_OUTPUT].some((name) => taken.has(name)))
    return null;
  const index = new GraphIndex(graph, store);
  const product = findProduct(index);
  if (product === null || product.vocab * product.hidden < minWeights) return null;

  const { rows, vocab, hidden } = product;
  // NaN or infinite weights would make every bound NaN: such a head stays exact.
  if (!rows.every(Number.isFinite) || !(product.bias?.every(Number.isFinite) ?? true)) return null;
  const quantized = new Uint8Array(hidden * vocab);
  const scales = new Float32Array(vocab);
  const errorNorms = new Float64Array(vocab);
  const weightNorms = new Float64Array(vocab);
  for (let token = 0; token < vocab; token++) {
    const base = token * hidden;
    let largest = 0;
    for (let i = 0; i < hidden; i++) largest = Math.max(largest, Math.abs(rows[base + i] as number));
    const scale = Math.fround(largest / WEIGHT_LEVELS);
    scales[token] = scale;
    let error = 0;
    let norm = 0;
    for (let i = 0; i < hidden; i++) {
      const weight = rows[base + i] as number;
      const step =
        scale > 0 ? Math.max(-WEIGHT_LEVELS, Math.min(WEIGHT_LEVELS, Math.round(weight / scale))) : 0;
      quantized[i * vocab + token] = step + WEIGHT_ZERO;
      // Exact in float64: a float32 scale times an integer of 8 bits.
      const off = weight - scale * step;
      error += off * off;
      norm += weight * weight;
    }
    weightNorms[token] = Math.sqrt(norm);
    errorNorms[token] =
      Math.sqrt(error) * (1 + FLOAT_SLACK) + (FLOAT_SLACK + hidden * SUMMATION_SLACK) * Math.sqrt(norm);
  }

  const names = new Names(graph);
  const weightName = names.fresh('lodge.screen.weight');
  const zeroName = names.fresh('lodge.screen.weight_zero');
  const scaleName = names.fresh('lodge.screen.weight_scale');
  const output = product.node.output?.[0] ?? '';
  const exactOut = names.fresh(`${output}.exact`);
  const screenedOut = names.fresh(`${output}.screened`);
  const [levels, activationScale, activationZero, sums, floats, scaled] = [
    'levels',
    'activation_scale',
    'activation_zero',
    'sums',
    'sums_float',
    'scaled',
  ].map((part) => names.fresh(`lodge.screen.${part}`)) as [string, string, string, string, string, string];
  const product2 = product.biasInside === null ? screenedOut : names.fresh('lodge.screen.product');
  const screened: onnx.INodeProto[] = [
    {
      opType: 'DynamicQuantizeLinear',
      name: names.fresh('lodge.screen.quantize'),
      input: [product.input],
      output: [levels, activationScale, activationZero],
    },
    {
      opType: 'MatMulInteger',
      name: names.fresh('lodge.screen.matmul'),
      input: [levels, weightName, activationZero, zeroName],
      output: [sums],
    },
    {
      opType: 'Cast',
      name: names.fresh('lodge.screen.cast'),
      input: [sums],
      output: [floats],
      attribute: [{ name: 'to', type: INT, i: FLOAT }],
    },
    {
      opType: 'Mul',
      name: names.fresh('lodge.screen.weight_scaling'),
      input: [floats, scaleName],
      output: [scaled],
    },
    {
      opType: 'Mul',
      name: names.fresh('lodge.screen.activation_scaling'),
      input: [scaled, activationScale],
      output: [product2],
    },
    ...(product.biasInside === null
      ? []
      : [
          {
            opType: 'Add',
            name: names.fresh('lodge.screen.bias'),
            input: [product2, product.biasInside],
            output: [screenedOut],
          },
        ]),
  ];
  const exactNode: onnx.INodeProto = { ...product.node, output: [exactOut] };
  // The exact head's placeholders for the quantization's outputs (an If's branches return alike):
  // casts of the switch itself, which onnxruntime cannot fold into constants (it saves folded
  // branch constants under their output names, a graph it then refuses to load).
  const [noLevels, noScale, noZero] = ['no_levels', 'no_scale', 'no_zero'].map((part) =>
    names.fresh(`lodge.screen.${part}`),
  ) as [string, string, string];
  const placeholders: onnx.INodeProto[] = (
    [
      [noLevels, UINT8],
      [noScale, FLOAT],
      [noZero, UINT8],
    ] as const
  ).map(([out, to]) => ({
    opType: 'Cast',
    name: names.fresh('lodge.screen.placeholder'),
    input: [EXACT_INPUT],
    output: [out],
    attribute: [{ name: 'to', type: INT, i: to }],
  }));
  const typed = (name: string, elemType: number): onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType } },
  });
  const floatOut = (name: string): onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: FLOAT } },
  });
  const choice: onnx.INodeProto = {
    opType: 'If',
    name: names.fresh('lodge.screen.choice'),
    input: [EXACT_INPUT],
    output: [output, LEVELS_OUTPUT, SCALE_OUTPUT, ZERO_OUTPUT],
    attribute: [
      {
        name: 'then_branch',
        type: GRAPH,
        g: {
          name: 'lodge_exact_head',
          node: [exactNode, ...placeholders],
          output: [floatOut(exactOut), typed(noLevels, UINT8), floatOut(noScale), typed(noZero, UINT8)],
        },
      },
      {
        name: 'else_branch',
        type: GRAPH,
        g: {
          name: 'lodge_screened_head',
          node: screened,
          output: [
            floatOut(screenedOut),
            typed(levels, UINT8),
            floatOut(activationScale),
            typed(activationZero, UINT8),
          ],
        },
      },
    ],
  };
  graph.node = (graph.node ?? []).map((node) => (node === product.node ? choice : node));
  graph.initializer = [
    ...(graph.initializer ?? []),
    { name: weightName, dataType: UINT8, dims: [hidden, vocab], rawData: quantized },
    { name: zeroName, dataType: UINT8, dims: [], rawData: Uint8Array.of(WEIGHT_ZERO) },
    { name: scaleName, dataType: FLOAT, dims: [vocab], rawData: new Uint8Array(scales.buffer) },
  ];
  graph.input = [
    ...(graph.input ?? []),
    { name: EXACT_INPUT, type: { tensorType: { elemType: BOOL, shape: { dim: [] } } } },
  ];
  graph.output = [
    ...(graph.output ?? []),
    floatOut(HIDDEN_OUTPUT),
    typed(LEVELS_OUTPUT, UINT8),
    floatOut(SCALE_OUTPUT),
    typed(ZERO_OUTPUT, UINT8),
  ];
  // The hidden state leaves the graph under its own name too: an Identity, so the value the head
  // reads keeps its name (and whatever else reads it).
  graph.node.push({
    opType: 'Identity',
    name: names.fresh('lodge.screen.hidden'),
    input: [product.input],
    output: [HIDDEN_OUTPUT],
  });
  return {
    vocab,
    hidden,
    rows,
    errorNorms,
    weightNorms,
    bias: product.bias,
    biasFirst: product.biasInside !== null,
  };
}

/**
 * The product that makes `logits` through Identity, Reshape and Cast-to-float32 nodes and at most
 * one Add of a constant [V] bias, each read by nothing else; null where the graph differs.
 */
function findProduct(index: GraphIndex): Product | null {
  if (index.readers('logits').length > 0) return null;
  let name = 'logits';
  let consumer: onnx.INodeProto | null = null;
  let bias: Float32Array | null = null;
  for (let step = 0; step < 8; step++) {
    const node = index.producer(name);
    if (node === null || node.domain || (consumer !== null && !index.only(name, consumer))) return null;
    const [a, b] = node.input ?? [];
    // A Cast to float32 of the float32 product (exports write one before `logits`) changes nothing.
    const toFloat =
      node.opType === 'Cast' && Number(node.attribute?.find((entry) => entry.name === 'to')?.i) === FLOAT;
    if (node.opType === 'Identity' || node.opType === 'Reshape' || toFloat) {
      if (!a) return null;
      name = a;
    } else if (node.opType === 'Add' && bias === null && a && b) {
      const right = index.floats(b);
      const constant = right ?? index.floats(a);
      if (constant === null) return null;
      bias = constant.slice();
      name = right !== null ? a : b;
    } else if (node.opType === 'MatMul' || node.opType === 'Gemm') {
      return product(index, node, bias);
    } else {
      return null;
    }
    consumer = node;
  }
  return null;
}

function product(index: GraphIndex, node: onnx.INodeProto, laterBias: Float32Array | null): Product | null {
  const [input, weight, c] = node.input ?? [];
  if (!input || !weight) return null;
  const attribute = (key: string, fallback: number) =>
    Number(node.attribute?.find((entry) => entry.name === key)?.i ?? fallback);
  const floatAttribute = (key: string) => node.attribute?.find((entry) => entry.name === key)?.f ?? 1;
  let transposed: boolean;
  let source = weight;
  if (node.opType === 'Gemm') {
    if (attribute('transA', 0) !== 0 || floatAttribute('alpha') !== 1) return null;
    if (c && floatAttribute('beta') !== 1) return null;
    transposed = attribute('transB', 0) === 1;
  } else {
    transposed = false;
    const transpose = index.made(weight, 'Transpose');
    if (transpose !== null) {
      const perm = transpose.attribute?.find((entry) => entry.name === 'perm')?.ints?.map(Number);
      if (perm !== undefined && perm.join() !== '1,0') return null;
      source = transpose.input?.[0] ?? '';
      transposed = true;
    }
  }
  const tensor = index.tensor(source);
  const values = index.floats(source);
  const dims = (tensor?.dims ?? []).map(Number);
  if (tensor === null || values === null || dims.length !== 2) return null;
  // `transposed`: the weight is held [V, H] (rows already per token), else [H, V].
  const [vocab, hidden] = transposed
    ? [dims[0] as number, dims[1] as number]
    : [dims[1] as number, dims[0] as number];
  if (values.length !== vocab * hidden) return null;
  let bias = laterBias;
  let biasInside: string | null = null;
  if (c) {
    const constant = index.floats(c);
    if (constant === null || bias !== null) return null;
    bias = constant.slice();
    biasInside = c;
  }
  if (bias !== null && bias.length !== vocab) return null;
  return {
    node,
    input,
    rows: transposed ? values.slice() : transpose2d(values, hidden, vocab),
    vocab,
    hidden,
    bias,
    biasInside,
  };
}

/** A [rows, columns] row-major matrix as [columns, rows]. */
function transpose2d(values: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let row = 0; row < rows; row++) {
    const base = row * columns;
    for (let column = 0; column < columns; column++)
      out[column * rows + row] = values[base + column] as number;
  }
  return out;
}
