import { VARIANTS, type VariantName } from './model-record';

/**
 * The graph files of a Hugging Face ONNX export, by name inside its `onnx/` folder, best first:
 * `model` (a merged export), `decoder_model_merged` (older exports, with the KV cache), then
 * `decoder_model` (no cache). Each may end in `_<variant>` (`model_q4.onnx`).
 */
const GRAPH_STEMS = ['model', 'decoder_model_merged', 'decoder_model'] as const;

const GRAPH_NAME = /^(model|decoder_model_merged|decoder_model)(?:_([a-z0-9]+))?\.onnx$/;

/** A graph file of an export: the variant it holds, and its rank (lower is better) among graphs of that variant. */
export interface GraphName {
  readonly variant: VariantName;
  readonly rank: number;
}

/**
 * What the file `name` in an export's `onnx/` folder is as a graph, or null when it is none (or
 * a variant Lodge does not know). The one rule for model folders on disk and repos on the hub,
 * so a repo that runs locally is offered on the hub and the reverse.
 */
export function graphName(name: string): GraphName | null {
  const match = GRAPH_NAME.exec(name);
  if (!match) return null;
  const variant = match[2] ?? 'fp32';
  if (!(VARIANTS as readonly string[]).includes(variant)) return null;
  return {
    variant: variant as VariantName,
    rank: GRAPH_STEMS.indexOf(match[1] as (typeof GRAPH_STEMS)[number]),
  };
}

/**
 * The best graph of each variant among `names` (file names inside `onnx/`), with what each name
 * is: the one rule for choosing which file a variant loads.
 */
export function bestGraphs<T>(
  entries: readonly T[],
  nameOf: (entry: T) => string | null,
): Map<VariantName, T> {
  const best = new Map<VariantName, { entry: T; rank: number }>();
  for (const entry of entries) {
    const name = nameOf(entry);
    const graph = name === null ? null : graphName(name);
    if (graph === null) continue;
    const current = best.get(graph.variant);
    if (current === undefined || graph.rank < current.rank)
      best.set(graph.variant, { entry, rank: graph.rank });
  }
  return new Map([...best].map(([variant, { entry }]) => [variant, entry]));
}

/**
 * True when the file `name` is external data of the graph `graph`, both named inside one folder:
 * `x.onnx_data`, `x.onnx_data_1`, `x.onnx.data`, and nothing else (so a name like
 * `model.onnx_data/../../x`, or `model.onnx_data.bak`, is never taken for one).
 */
export function isExternalDataOf(name: string, graph: string): boolean {
  if (!name.startsWith(graph)) return false;
  return /^(?:_data(?:_\d+)?|\.data)$/.test(name.slice(graph.length));
}
