import { pipelineGraphs } from '../../../shared/pipeline-graphs';
import type { ModelTask } from '../../../shared/engine';
import { LodgeError } from '../errors';

/**
 * Refuses to export a model that is a pipeline of graphs: a Triton ONNX model is one graph, and
 * exporting one of them alone would write a model that nothing can feed.
 */
export function refusePipelineExport(record: { readonly id: string; readonly task: ModelTask }): void {
  const graphs = pipelineGraphs(record.task);
  if (graphs.length === 0) return;
  throw new LodgeError(
    'invalid_request',
    `${record.id} is a ${record.task} model, a pipeline of ${graphs.length} graphs (${graphs.join(', ')}); Triton export takes single-graph models.`,
    { param: 'model' },
  );
}
