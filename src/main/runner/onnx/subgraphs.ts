// The graphs an ONNX node holds in its attributes, for the rewrites that walk a whole model.
import type { onnx } from 'onnx-proto';

/** The graphs a node holds in its attributes (If branches, Loop and Scan bodies). */
export function subgraphs(node: onnx.INodeProto): onnx.IGraphProto[] {
  return (node.attribute ?? []).flatMap((attribute) => [
    ...(attribute.g ? [attribute.g] : []),
    ...(attribute.graphs ?? []),
  ]);
}
