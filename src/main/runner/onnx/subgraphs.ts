// Who reads a value in an ONNX graph: its nodes, its outputs, the graphs its nodes hold (If
// branches, Loop bodies). For the rewrites that walk a whole model.
import type { onnx } from 'onnx-proto';

/** The graphs a node holds in its attributes (If branches, Loop and Scan bodies). */
export function subgraphs(node: onnx.INodeProto): onnx.IGraphProto[] {
  return (node.attribute ?? []).flatMap((attribute) => [
    ...(attribute.g ? [attribute.g] : []),
    ...(attribute.graphs ?? []),
  ]);
}

/** True when a subgraph (an If or Loop body) reads `name` from the enclosing scope. */
export function usedInside(graph: onnx.IGraphProto, name: string): boolean {
  const reads = (inner: onnx.IGraphProto): boolean =>
    (inner.node ?? []).some((node) => node.input?.includes(name) || subgraphs(node).some(reads));
  return (graph.node ?? []).some((node) => subgraphs(node).some(reads));
}

/** The graph's nodes that read `name`. */
export function readers(graph: onnx.IGraphProto, name: string): onnx.INodeProto[] {
  return (graph.node ?? []).filter((node) => node.input?.includes(name));
}

/** True when `name` is one of the graph's outputs. */
export function isOutput(graph: onnx.IGraphProto, name: string): boolean {
  return (graph.output ?? []).some((value) => value.name === name);
}
