// The graphs an ONNX node holds in its attributes, and whether they read a value of the enclosing
// graph: for the rewrites that walk a whole model.
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
