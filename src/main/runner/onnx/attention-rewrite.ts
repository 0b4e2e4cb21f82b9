// Decoder attention written in plain ops, fused into onnxruntime's GroupQueryAttention. An export
// that spells attention out (split heads by Reshape and Transpose, rotary by Slice/Neg/Concat/Mul,
// the cache by Concat, scores by MatMul, scale, mask and Softmax, the heads merged back) runs some
// thirty small kernels per layer and step, a large share of a small model's decode step on the
// CPU. Fused, a layer runs three: RotaryEmbedding on the queries and on the keys (at the positions
// fed, from a cos/sin cache made of the export's tables), and GroupQueryAttention, which appends to
// the cache and attends causally over it, with the same presents by the same names and layout.
//
// The matcher is strict: every node of a layer's attention must be one of the forms below and
// read by nothing else, or the layer is left as exported. The forms:
//   heads   Transpose(Reshape(x, [0, 0, heads, headDim]), [0, 2, 1, 3]) of a [B, S, heads·headDim] projection
//   rotary  x·cos + rotate_half(x)·sin, rotate_half(x) = Concat(−x[…, half:], x[…, :half]), where cos
//           and sin are rows of constant [positions, headDim] tables gathered by the int64
//           `position_ids` input (each row's two halves equal: Hugging Face's non-interleaved
//           layout); the fused node reads the same positions from the same input
//   cache   present = Concat(past, new, axis 2), past a graph input and present a graph output
//   groups  the query heads reshaped to [B, kvHeads, −1, headDim] against the shared key heads, or
//           repeat_kv's Unsqueeze → Expand → Reshape of keys and values, or no grouping at all
//   scores  MatMul(q, Transpose(k, [0, 1, 3, 2])) times or divided by a constant, then Where(mask,
//           scores, very negative) or Add(scores, mask), then Softmax over the last axis
//   merge   MatMul(probabilities, v) → Transpose [0, 2, 1, 3] → Reshape [0, 0, heads·headDim]
// What the exported mask computes is not read: the fused node is causal by itself, and takes the
// padding from `attention_mask` as an additive bias, with every row's new keys in the last columns
// (rows padded on the left, as the exported cache Concat and mask have them). Where an export's
// mask meant something else (a window, no causality), the load check that compares the fused graph
// with its source refuses the fusion (language-model.ts).
import { onnx } from 'onnx-proto';
import { GraphIndex, Names, removeDead } from './graph-index';
import type { TensorStore } from './matmul-rewrite';

const MS_DOMAIN = 'com.microsoft';
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT32 = onnx.TensorProto.DataType.INT32;
const INT64 = onnx.TensorProto.DataType.INT64;
/** A mask value at least this negative stands for "not seen". */
const MASKED = -1e4;

/** One layer's attention as matched: what the fused node takes and gives, and the nodes it replaces. */
interface Layer {
  readonly query: string;
  readonly key: string;
  readonly value: string;
  readonly pastKey: string;
  readonly pastValue: string;
  readonly presentKey: string;
  readonly presentValue: string;
  readonly output: string;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly scale: number;
  /** The cos and sin tables' names, or null without rotary embeddings. */
  readonly rotary: { readonly cos: string; readonly sin: string } | null;
  readonly nodes: readonly onnx.INodeProto[];
}

/**
 * Fuses every decoder attention of `model`'s main graph that the matcher recognizes into one
 * GroupQueryAttention node; returns how many. Graphs without an `attention_mask` input, with
 * float16 or other activations, or at opsets below 13 are left.
 */
export function fuseAttention(model: onnx.ModelProto, store: TensorStore): number {
  const graph = model.graph;
  const opset = Number((model.opsetImport ?? []).find((entry) => !entry.domain)?.version ?? 0);
  if (!graph || opset < 13) return 0;
  const mask = (graph.input ?? []).find((value) => value.name === 'attention_mask');
  const maskType = mask?.type?.tensorType?.elemType;
  if (maskType !== INT64 && maskType !== INT32) return 0;
  if (!(graph.input ?? []).some((value) => value.name === 'input_ids')) return 0;
  const index = new GraphIndex(graph, store);
  const layers: Layer[] = [];
  const taken = new Set<onnx.INodeProto>();
  for (const node of graph.node ?? []) {
    if (node.opType !== 'Softmax' || node.domain) continue;
    const layer = matchLayer(index, node);
    if (layer === null || layer.nodes.some((part) => taken.has(part))) continue;
    for (const part of layer.nodes) taken.add(part);
    layers.push(layer);
  }
  if (layers.length === 0) return 0;

  const names = new Names(graph);
  const lengths = maskNodes(names);
  const caches = new Map<string, { cos: string; sin: string }>();
  const added: onnx.ITensorProto[] = [];
  // Each fused node takes the place of its layer's last node (the merge): its inputs come before.
  const fused = new Map<onnx.INodeProto, onnx.INodeProto[]>();
  for (const layer of layers) {
    let cache: { cos: string; sin: string } | null = null;
    if (layer.rotary !== null) {
      const key = `${layer.rotary.cos}\n${layer.rotary.sin}`;
      cache = caches.get(key) ?? null;
      if (cache === null) {
        cache = { cos: names.fresh('lodge.rotary.cos_cache'), sin: names.fresh('lodge.rotary.sin_cache') };
        added.push(
          halfTable(index, layer.rotary.cos, cache.cos),
          halfTable(index, layer.rotary.sin, cache.sin),
        );
        caches.set(key, cache);
      }
    }
    // Rotary embeddings by their own kernel, at the positions fed: GroupQueryAttention's own rotary
    // takes positions from seqlens_k when decoding, which rows padded on the left do not match.
    const rotate = (input: string, heads: number): { input: string; nodes: onnx.INodeProto[] } => {
      if (cache === null) return { input, nodes: [] };
      const output = names.fresh(`${input}.rotated`);
      return {
        input: output,
        nodes: [
          {
            opType: 'RotaryEmbedding',
            domain: MS_DOMAIN,
            name: names.fresh(`lodge.rotary.${input}`),
            input: [input, 'position_ids', cache.cos, cache.sin],
            output: [output],
            attribute: [intAttribute('interleaved', 0), intAttribute('num_heads', heads)],
          },
        ],
      };
    };
    const query = rotate(layer.query, layer.heads);
    const key = rotate(layer.key, layer.kvHeads);
    fused.set(layer.nodes.at(-1) as onnx.INodeProto, [
      ...query.nodes,
      ...key.nodes,
      {
        opType: 'GroupQueryAttention',
        domain: MS_DOMAIN,
        name: names.fresh(`lodge.attention.${layer.presentKey}`),
        input: [
          query.input,
          key.input,
          layer.value,
          layer.pastKey,
          layer.pastValue,
          lengths.seqlens,
          lengths.total,
          '',
          '',
          '',
          lengths.bias,
        ],
        output: [layer.output, layer.presentKey, layer.presentValue],
        attribute: [
          intAttribute('num_heads', layer.heads),
          intAttribute('kv_num_heads', layer.kvHeads),
          floatAttribute('scale', layer.scale),
        ],
      },
    ]);
  }
  graph.node = [
    ...lengths.nodes,
    ...(graph.node ?? []).flatMap((node) => {
      const replacement = fused.get(node);
      if (replacement !== undefined) return replacement;
      return taken.has(node) ? [] : [node];
    }),
  ];
  graph.initializer = [...(graph.initializer ?? []), ...lengths.constants, ...added];
  removeDead(graph);
  if (!(model.opsetImport ?? []).some((entry) => entry.domain === MS_DOMAIN))
    model.opsetImport = [...(model.opsetImport ?? []), { domain: MS_DOMAIN, version: 1 }];
  return layers.length;
}

/** Matches the attention around `softmax`, or null where any part differs from the forms above. */
function matchLayer(index: GraphIndex, softmax: onnx.INodeProto): Layer | null {
  const axis = intOf(softmax, 'axis', -1);
  if (axis !== -1 && axis !== 3) return null;
  const nodes: onnx.INodeProto[] = [softmax];
  const probabilities = softmax.output?.[0] ?? '';

  // Scores: the mask, then the scale, then Q·Kᵀ.
  let scores = softmax.input?.[0] ?? '';
  const where = index.made(scores, 'Where');
  const add = index.made(scores, 'Add');
  if (where !== null) {
    const [, kept, masked] = where.input ?? [];
    const fill = index.scalar(masked ?? '');
    if (fill === null || fill > MASKED || !kept || !index.only(scores, softmax)) return null;
    nodes.push(where);
    scores = kept;
  } else if (add !== null && index.only(scores, softmax)) {
    const [a = '', b = ''] = add.input ?? [];
    const scoresSide = [a, b].find((name) => index.made(name, 'Mul') || index.made(name, 'Div'));
    if (scoresSide === undefined || index.tensor(a === scoresSide ? b : a) !== null) return null;
    nodes.push(add);
    scores = scoresSide;
  } else return null;
  const reader = nodes.at(-1) as onnx.INodeProto;
  let scale = 1;
  const mul = index.made(scores, 'Mul');
  const div = index.made(scores, 'Div');
  const scaler = mul ?? div;
  if (scaler !== null) {
    if (!index.only(scores, reader)) return null;
    const [a = '', b = ''] = scaler.input ?? [];
    const constant = index.scalar(b) ?? (mul !== null ? index.scalar(a) : null);
    if (constant === null || constant === 0) return null;
    scale = div !== null ? 1 / constant : constant;
    nodes.push(scaler);
    scores = index.scalar(b) !== null ? a : b;
  }
  const product = index.made(scores, 'MatMul');
  if (product === null || !index.only(scores, nodes.at(-1) as onnx.INodeProto)) return null;
  nodes.push(product);
  const [groupedQuery = '', keysT = ''] = product.input ?? [];
  const transposeK = index.made(keysT, 'Transpose');
  if (transposeK === null || !same(ints(transposeK, 'perm'), [0, 1, 3, 2]) || !index.only(keysT, product))
    return null;
  nodes.push(transposeK);

  // The context: probabilities · V, the heads merged back.
  const contextNodes = index.readers(probabilities);
  const contextProduct = contextNodes[0];
  if (
    contextNodes.length !== 1 ||
    contextProduct?.opType !== 'MatMul' ||
    contextProduct.domain ||
    contextProduct.input?.[0] !== probabilities ||
    !index.only(probabilities, contextProduct)
  )
    return null;
  nodes.push(contextProduct);

  // The query, grouped against shared key heads or not.
  let query = groupedQuery;
  let grouped: number | null = null;
  let groupWidth = 0;
  const groupReshape = index.made(groupedQuery, 'Reshape');
  if (groupReshape !== null) {
    const shape = index.ints(groupReshape.input?.[1] ?? '');
    if (shape === null || shape.length !== 4 || shape[0] !== 0 || shape[2] !== -1) return null;
    if (!index.only(groupedQuery, product) || intOf(groupReshape, 'allowzero', 0) !== 0) return null;
    grouped = shape[1] as number;
    groupWidth = shape[3] as number;
    nodes.push(groupReshape);
    query = groupReshape.input?.[0] ?? '';
  }
  const queryReader = nodes.at(-1) as onnx.INodeProto;
  const rotatedQuery = rotary(index, query, queryReader);
  const queryHeads = heads(
    index,
    rotatedQuery?.x ?? query,
    rotatedQuery?.nodes.at(-1) ?? queryReader,
    rotatedQuery,
  );
  if (queryHeads === null) return null;
  nodes.push(...(rotatedQuery?.nodes ?? []), ...queryHeads.nodes);

  // Keys and values: the cache Concat, repeated per group or not.
  const keySide = cacheOf(index, transposeK.input?.[0] ?? '', transposeK, grouped === null);
  const valueSide = cacheOf(index, contextProduct.input?.[1] ?? '', contextProduct, grouped === null);
  if (keySide === null || valueSide === null) return null;
  nodes.push(...keySide.nodes, ...valueSide.nodes);
  const rotatedKey = rotary(index, keySide.added, keySide.concat);
  const keyHeads = heads(
    index,
    rotatedKey?.x ?? keySide.added,
    rotatedKey?.nodes.at(-1) ?? keySide.concat,
    rotatedKey,
  );
  const valueHeads = heads(index, valueSide.added, valueSide.concat, null);
  if (keyHeads === null || valueHeads === null) return null;
  nodes.push(...(rotatedKey?.nodes ?? []), ...keyHeads.nodes, ...valueHeads.nodes);
  if ((rotatedQuery === null) !== (rotatedKey === null)) return null;
  if (
    rotatedQuery &&
    rotatedKey &&
    (rotatedQuery.cos !== rotatedKey.cos || rotatedQuery.sin !== rotatedKey.sin)
  )
    return null;

  const headDim = queryHeads.headDim;
  const kvHeads = keyHeads.heads;
  const headCount = queryHeads.heads;
  if (keyHeads.headDim !== headDim || valueHeads.headDim !== headDim || valueHeads.heads !== kvHeads)
    return null;
  if (headCount % kvHeads !== 0) return null;
  if (
    grouped !== null
      ? grouped !== kvHeads || groupWidth !== headDim
      : keySide.repeated !== headCount > kvHeads
  )
    return null;
  if (keySide.repeated !== valueSide.repeated) return null;
  if (
    !pastFits(index.input(keySide.past), kvHeads, headDim) ||
    !pastFits(index.input(valueSide.past), kvHeads, headDim)
  )
    return null;

  // The merge: [grouped: Reshape to heads] → Transpose [0, 2, 1, 3] → Reshape [0, 0, heads·headDim].
  let context = contextProduct.output?.[0] ?? '';
  if (grouped !== null) {
    const ungroup = single(index, context, 'Reshape');
    const shape = index.ints(ungroup?.input?.[1] ?? '');
    if (ungroup === null || !same(shape, [0, headCount, -1, headDim])) return null;
    nodes.push(ungroup);
    context = ungroup.output?.[0] ?? '';
  }
  const back = single(index, context, 'Transpose');
  if (back === null || !same(ints(back, 'perm'), [0, 2, 1, 3])) return null;
  const merge = single(index, back.output?.[0] ?? '', 'Reshape');
  const mergeShape = index.ints(merge?.input?.[1] ?? '');
  if (merge === null || !same(mergeShape, [0, 0, headCount * headDim]) || intOf(merge, 'allowzero', 0) !== 0)
    return null;
  nodes.push(back, merge);
  return {
    query: queryHeads.projection,
    key: keyHeads.projection,
    value: valueHeads.projection,
    pastKey: keySide.past,
    pastValue: valueSide.past,
    presentKey: keySide.present,
    presentValue: valueSide.present,
    output: merge.output?.[0] ?? '',
    heads: headCount,
    kvHeads,
    headDim,
    scale,
    rotary: rotatedQuery === null ? null : { cos: rotatedQuery.cos, sin: rotatedQuery.sin },
    nodes,
  };
}

/** The node of `opType` that alone reads `name`, or null. */
function single(index: GraphIndex, name: string, opType: string): onnx.INodeProto | null {
  const list = index.readers(name);
  const next = list[0];
  if (list.length !== 1 || !next || next.opType !== opType || next.domain || !index.only(name, next))
    return null;
  return next;
}

interface Rotary {
  readonly x: string;
  /** The constant tables the cos and sin rows come from. */
  readonly cos: string;
  readonly sin: string;
  readonly nodes: readonly onnx.INodeProto[];
}

/** `name` as x·cos + rotate_half(x)·sin read only by `reader`, or null. */
function rotary(index: GraphIndex, name: string, reader: onnx.INodeProto): Rotary | null {
  const sum = index.made(name, 'Add');
  if (sum === null || !index.only(name, reader)) return null;
  const [a = '', b = ''] = sum.input ?? [];
  for (const [plainName, rotatedName] of [
    [a, b],
    [b, a],
  ] as const) {
    const plain = index.made(plainName, 'Mul');
    const rotated = index.made(rotatedName, 'Mul');
    if (plain === null || rotated === null || !index.only(plainName, sum) || !index.only(rotatedName, sum))
      continue;
    const half = rotatedHalf(index, rotated);
    if (half === null) continue;
    const [p0 = '', p1 = ''] = plain.input ?? [];
    const cosRows = p0 === half.x ? p1 : p1 === half.x ? p0 : null;
    if (cosRows === null) continue;
    const cos = tableRows(index, cosRows);
    const sin = tableRows(index, half.sin);
    if (cos === null || sin === null) continue;
    const readersOfX = index.readers(half.x);
    if (readersOfX.length !== 3 || !readersOfX.every((node) => node === plain || half.nodes.includes(node)))
      continue;
    return { x: half.x, cos, sin, nodes: [sum, plain, rotated, ...half.nodes] };
  }
  return null;
}

/** Mul(Concat(−x[…, half:], x[…, :half]), sin) in either operand order: its x, sin rows and nodes. */
function rotatedHalf(
  index: GraphIndex,
  mul: onnx.INodeProto,
): { x: string; sin: string; nodes: onnx.INodeProto[] } | null {
  const [a = '', b = ''] = mul.input ?? [];
  for (const [rotatedName, sin] of [
    [a, b],
    [b, a],
  ] as const) {
    const concat = index.made(rotatedName, 'Concat');
    if (concat === null || !index.only(rotatedName, mul) || !lastAxis(intOf(concat, 'axis', 0))) continue;
    const [negated = '', firstHalf = '', ...rest] = concat.input ?? [];
    const neg = index.made(negated, 'Neg');
    const second = index.made(neg?.input?.[0] ?? '', 'Slice');
    const first = index.made(firstHalf, 'Slice');
    if (rest.length > 0 || neg === null || second === null || first === null) continue;
    if (
      !index.only(negated, concat) ||
      !index.only(firstHalf, concat) ||
      !index.only(neg.input?.[0] ?? '', neg)
    )
      continue;
    const x = first.input?.[0] ?? '';
    if (second.input?.[0] !== x) continue;
    const firstRange = sliceRange(index, first);
    const secondRange = sliceRange(index, second);
    if (firstRange === null || secondRange === null || firstRange.start !== 0) continue;
    if (secondRange.start !== firstRange.end || secondRange.end < 2 * firstRange.end) continue;
    return { x, sin, nodes: [concat, neg, second, first] };
  }
  return null;
}

/** A last-axis Slice's [start, end) with unit steps, or null. */
function sliceRange(index: GraphIndex, slice: onnx.INodeProto): { start: number; end: number } | null {
  const [, starts = '', ends = '', axes = '', steps = ''] = slice.input ?? [];
  const start = index.ints(starts);
  const end = index.ints(ends);
  const axis = index.ints(axes);
  if (start?.length !== 1 || end?.length !== 1 || axis?.length !== 1 || !lastAxis(axis[0] as number))
    return null;
  if (steps && !same(index.ints(steps), [1])) return null;
  return { start: start[0] as number, end: end[0] as number };
}

/** Rows of a constant [positions, headDim] table gathered by `position_ids`, unsqueezed at axis 1: the table. */
function tableRows(index: GraphIndex, name: string): string | null {
  const unsqueeze = index.made(name, 'Unsqueeze');
  if (unsqueeze === null || !same(index.ints(unsqueeze.input?.[1] ?? ''), [1])) return null;
  const gather = index.made(unsqueeze.input?.[0] ?? '', 'Gather');
  if (gather === null || intOf(gather, 'axis', 0) !== 0 || gather.input?.[1] !== 'position_ids') return null;
  // GroupQueryAttention takes the positions as they are fed: int64.
  if (index.input('position_ids')?.type?.tensorType?.elemType !== INT64) return null;
  const table = gather.input?.[0] ?? '';
  const tensor = index.tensor(table);
  const dims = (tensor?.dims ?? []).map(Number);
  const values = index.floats(table);
  if (tensor === null || dims.length !== 2 || values === null) return null;
  const [rows = 0, width = 0] = dims;
  return values.length === rows * width && halvesRepeat(values, rows, width) ? table : null;
}

/** `name` as Transpose(Reshape(projection, [0, 0, heads, headDim]), [0, 2, 1, 3]) read only by `reader`. */
function heads(
  index: GraphIndex,
  name: string,
  reader: onnx.INodeProto,
  rotated: Rotary | null,
): { projection: string; heads: number; headDim: number; nodes: onnx.INodeProto[] } | null {
  const transpose = index.made(name, 'Transpose');
  if (transpose === null || !same(ints(transpose, 'perm'), [0, 2, 1, 3])) return null;
  const expected = rotated === null ? [reader] : rotated.nodes.filter((node) => node.input?.includes(name));
  const list = index.readers(name);
  if (list.length !== expected.length || !list.every((node) => expected.includes(node))) return null;
  const reshape = index.made(transpose.input?.[0] ?? '', 'Reshape');
  if (reshape === null || !index.only(transpose.input?.[0] ?? '', transpose)) return null;
  if (intOf(reshape, 'allowzero', 0) !== 0) return null;
  const shape = index.ints(reshape.input?.[1] ?? '');
  if (shape === null || shape.length !== 4 || shape[0] !== 0 || shape[1] !== 0) return null;
  const [, , count = 0, headDim = 0] = shape;
  if (count <= 0 || headDim <= 0 || headDim % 2 !== 0) return null;
  return { projection: reshape.input?.[0] ?? '', heads: count, headDim, nodes: [transpose, reshape] };
}

/**
 * The cache Concat behind `name` (read by `reader`): directly, or through repeat_kv's Unsqueeze →
 * Expand → Reshape where `repeatable`. Its past input, present output, the new keys or values added.
 */
function cacheOf(
  index: GraphIndex,
  name: string,
  reader: onnx.INodeProto,
  repeatable: boolean,
): {
  past: string;
  present: string;
  added: string;
  concat: onnx.INodeProto;
  repeated: boolean;
  nodes: onnx.INodeProto[];
} | null {
  const nodes: onnx.INodeProto[] = [];
  let present = name;
  let presentReader = reader;
  let repeated = false;
  const reshape = repeatable ? index.made(name, 'Reshape') : null;
  if (reshape !== null) {
    const expand = index.made(reshape.input?.[0] ?? '', 'Expand');
    const unsqueeze = index.made(expand?.input?.[0] ?? '', 'Unsqueeze');
    if (expand === null || unsqueeze === null || !same(index.ints(unsqueeze.input?.[1] ?? ''), [2]))
      return null;
    if (!index.only(name, reader) || !index.only(reshape.input?.[0] ?? '', reshape)) return null;
    if (!index.only(expand.input?.[0] ?? '', expand)) return null;
    nodes.push(reshape, expand, unsqueeze);
    present = unsqueeze.input?.[0] ?? '';
    presentReader = unsqueeze;
    repeated = true;
  }
  const concat = index.made(present, 'Concat');
  if (concat === null || !(intOf(concat, 'axis', 0) === 2 || intOf(concat, 'axis', 0) === -2)) return null;
  const [past = '', added = '', ...rest] = concat.input ?? [];
  if (rest.length > 0 || index.input(past) === undefined || !index.isOutput(present)) return null;
  const list = index.readers(present);
  if (list.length !== 1 || list[0] !== presentReader) return null;
  nodes.push(concat);
  return { past, present, added, concat, repeated, nodes };
}

/** True when a past input is float32 [batch, kvHeads, past, headDim] (the dims that are fixed agree). */
function pastFits(input: onnx.IValueInfoProto | undefined, kvHeads: number, headDim: number): boolean {
  const type = input?.type?.tensorType;
  if (type?.elemType !== FLOAT) return false;
  const dims = type.shape?.dim ?? [];
  if (dims.length !== 4) return false;
  const fixed = (dim: onnx.TensorShapeProto.IDimension | undefined, value: number) =>
    dim?.dimValue === undefined ||
    dim.dimValue === null ||
    Number(dim.dimValue) === 0 ||
    Number(dim.dimValue) === value;
  return fixed(dims[1], kvHeads) && fixed(dims[3], headDim);
}

/**
 * GroupQueryAttention's lengths and mask, from `attention_mask` [batch, total] and `input_ids`
 * [batch, new]: every row's seqlens_k is total − 1 and total_sequence_length the mask's width (so
 * each row's new keys go in the same last columns, as the exported graph's cache Concat puts
 * them), and the mask's padding becomes an additive bias [batch, 1, new, total] of 0 or −1e9 (as
 * exports fill it: finite, so a row that sees nothing averages rather than divides by zero). The
 * kernel adds causality itself. Rows padded on the left thus attend as in the exported graph.
 */
function maskNodes(names: Names): {
  seqlens: string;
  total: string;
  bias: string;
  nodes: onnx.INodeProto[];
  constants: onnx.ITensorProto[];
} {
  const name = (base: string) => names.fresh(`lodge.attention.${base}`);
  const zero = name('zero');
  const one = name('one');
  const ones = name('one_1d');
  const axis0 = name('axis_0');
  const axes12 = name('axes_1_2');
  const oneFloat = name('one_float');
  const masked = name('masked');
  const maskShape = name('mask_shape');
  const idsShape = name('ids_shape');
  const width = name('width');
  const batch = name('batch');
  const count = name('new');
  const last = name('last_column');
  const lastInt = name('last_column_int32');
  const batch1 = name('batch_1d');
  const count1 = name('new_1d');
  const width1 = name('width_1d');
  const biasShape = name('bias_shape');
  const kept = name('kept');
  const shifted = name('kept_less_one');
  const bias2 = name('bias_2d');
  const bias4 = name('bias_4d');
  const seqlens = name('seqlens_k');
  const total = name('total_sequence_length');
  const bias = name('bias');
  const int64 = (tensor: string, values: readonly number[], dims: readonly number[]): onnx.ITensorProto => ({
    name: tensor,
    dataType: INT64,
    dims: [...dims],
    rawData: new Uint8Array(BigInt64Array.from(values, BigInt).buffer),
  });
  const float = (tensor: string, value: number): onnx.ITensorProto => ({
    name: tensor,
    dataType: FLOAT,
    dims: [],
    rawData: new Uint8Array(Float32Array.of(value).buffer),
  });
  const node = (opType: string, input: string[], output: string, attribute: onnx.IAttributeProto[] = []) => ({
    opType,
    input,
    output: [output],
    attribute,
  });
  const gather = (from: string, at: string, output: string) =>
    node('Gather', [from, at], output, [intAttribute('axis', 0)]);
  return {
    seqlens,
    total,
    bias,
    constants: [
      int64(zero, [0], []),
      int64(one, [1], []),
      int64(ones, [1], [1]),
      int64(axis0, [0], [1]),
      int64(axes12, [1, 2], [2]),
      float(oneFloat, 1),
      float(masked, 1e9),
    ],
    nodes: [
      node('Shape', ['attention_mask'], maskShape),
      node('Shape', ['input_ids'], idsShape),
      gather(maskShape, one, width),
      gather(maskShape, zero, batch),
      gather(idsShape, one, count),
      node('Cast', [width], total, [intAttribute('to', INT32)]),
      node('Sub', [width, one], last),
      node('Cast', [last], lastInt, [intAttribute('to', INT32)]),
      node('Unsqueeze', [batch, axis0], batch1),
      node('Expand', [lastInt, batch1], seqlens),
      node('Unsqueeze', [count, axis0], count1),
      node('Unsqueeze', [width, axis0], width1),
      node('Concat', [batch1, ones, count1, width1], biasShape, [intAttribute('axis', 0)]),
      node('Cast', ['attention_mask'], kept, [intAttribute('to', FLOAT)]),
      node('Sub', [kept, oneFloat], shifted),
      node('Mul', [shifted, masked], bias2),
      node('Unsqueeze', [bias2, axes12], bias4),
      node('Expand', [bias4, biasShape], bias),
    ],
  };
}

/** GroupQueryAttention's [positions, headDim / 2] cache from a [positions, headDim] table whose halves repeat. */
function halfTable(index: GraphIndex, table: string, name: string): onnx.ITensorProto {
  const tensor = index.tensor(table) as onnx.ITensorProto;
  const values = index.floats(table);
  const [rows = 0, width = 0] = (tensor.dims ?? []).map(Number);
  if (values === null || values.length !== rows * width)
    throw new Error(`rotary table ${table} is not readable`);
  const half = width / 2;
  const out = new Float32Array(rows * half);
  for (let row = 0; row < rows; row++)
    for (let column = 0; column < half; column++)
      out[row * half + column] = values[row * width + column] as number;
  return { name, dataType: FLOAT, dims: [rows, half], rawData: new Uint8Array(out.buffer) };
}

/** True when a rotary table's two halves are equal in every row (the layout GroupQueryAttention's cache holds). */
function halvesRepeat(values: Float32Array, rows: number, width: number): boolean {
  const half = width / 2;
  for (let row = 0; row < rows; row++)
    for (let column = 0; column < half; column++)
      if (values[row * width + column] !== values[row * width + half + column]) return false;
  return true;
}

function lastAxis(axis: number): boolean {
  return axis === -1 || axis === 3;
}

function same(values: readonly number[] | null, expected: readonly number[]): boolean {
  return (
    values !== null &&
    values.length === expected.length &&
    values.every((value, at) => value === expected[at])
  );
}

function ints(node: onnx.INodeProto, name: string): number[] | null {
  const found = node.attribute?.find((attribute) => attribute.name === name);
  return found ? (found.ints ?? []).map(Number) : null;
}

function intOf(node: onnx.INodeProto, name: string, fallback: number): number {
  const found = node.attribute?.find((attribute) => attribute.name === name);
  return found ? Number(found.i) : fallback;
}

function intAttribute(name: string, value: number): onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i: value };
}

function floatAttribute(name: string, value: number): onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: value };
}
