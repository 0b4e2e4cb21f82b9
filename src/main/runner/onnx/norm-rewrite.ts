// RMSNorms that onnxruntime can fuse. Its SimplifiedLayerNormFusion turns Pow(x, 2) → ReduceMean →
// Add(eps) → Sqrt → Div → Mul(weight) into one SimplifiedLayerNormalization kernel, but only where
// the square is a Pow: a graph that squares by Mul(x, x) (as generators and some exporters write
// it) keeps five small kernels per norm. (Float32 norms only: onnxruntime's CPU provider fuses no
// float16 norm, Pow or not; there the rewrite changes nothing.) Part of quantization at load and
// of the fusions every decoder gets at load on the CPU (fused-graph.ts): it changes the float
// arithmetic by a few ulps (one kernel's sum instead of ReduceMean's), as onnxruntime's own fusions do.
import { onnx } from 'onnx-proto';
import { isOutput, readers, subgraphs, usedInside } from './subgraphs';

const FLOAT = onnx.TensorProto.DataType.FLOAT;
/** From opset 12 Pow's exponent may be float whatever the base's type (float16 graphs too). */
const POW_MIXED_TYPES = 12;

/**
 * Rewrites each Mul(x, x) that only ReduceMeans read into Pow(x, 2.0), in `model`'s graph and the
 * graphs inside it (a merged decoder's If branches); returns how many. Graphs at opsets below 12
 * are left.
 */
export function squaresAsPow(model: onnx.ModelProto): number {
  const graph = model.graph;
  const opset = (model.opsetImport ?? []).find((entry) => !entry.domain)?.version;
  if (!graph || opset === undefined || opset === null || Number(opset) < POW_MIXED_TYPES) return 0;
  const taken = new Set((graph.initializer ?? []).map((tensor) => tensor.name ?? ''));
  let exponent = 'lodge.square_exponent';
  while (taken.has(exponent)) exponent += '_';
  const rewritten = rewriteIn(graph, exponent);
  if (rewritten > 0)
    graph.initializer = [
      ...(graph.initializer ?? []),
      { name: exponent, dataType: FLOAT, dims: [], rawData: new Uint8Array(Float32Array.of(2).buffer) },
    ];
  return rewritten;
}

function rewriteIn(graph: onnx.IGraphProto, exponent: string): number {
  let rewritten = 0;
  const nodes = graph.node ?? [];
  for (const node of nodes) {
    for (const inner of subgraphs(node)) rewritten += rewriteIn(inner, exponent);
    const [a, b, ...rest] = node.input ?? [];
    if (node.opType !== 'Mul' || node.domain || !a || a !== b || rest.length > 0) continue;
    const output = node.output?.[0];
    if (!output || isOutput(graph, output) || usedInside(graph, output)) continue;
    const read = readers(graph, output);
    if (read.length === 0 || read.some((reader) => reader.opType !== 'ReduceMean' || reader.domain)) continue;
    node.opType = 'Pow';
    node.input = [a, exponent];
    rewritten++;
  }
  return rewritten;
}
