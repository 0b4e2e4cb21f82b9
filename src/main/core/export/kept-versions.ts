import type { TensorInfo } from '../../../shared/engine';
import type { ModelRecord } from '../library/model-record';
import { LodgeError } from '../errors';

/** One version folder of an export: Triton's version number, and the graph file it holds. */
export interface ExportVersion {
  readonly version: number;
  readonly variant: string;
  /** The id of the record (revision) the graph is from. */
  readonly model: string;
  /** The graph (absolute), its external data beside it. */
  readonly file: string;
}

/**
 * The versions an export writes, oldest first, numbered from 1, the active one last (Triton serves
 * the highest number by default): one per kept revision of the model that has the chosen variant.
 * `older` are the records of the model's other revisions, oldest first; a revision without that
 * variant is left out, since a Triton model's versions must share one signature's kind of graph.
 */
export function keptVersions(
  record: ModelRecord,
  variant: string | undefined,
  older: readonly ModelRecord[] = [],
): ExportVersion[] {
  const chosen = variant === undefined ? record.variants[0] : record.variants.find((v) => v.name === variant);
  if (chosen === undefined) {
    const names = record.variants.map((v) => v.name).join(', ');
    throw new LodgeError(
      'invalid_request',
      variant === undefined
        ? `${record.id} has no graph file to export.`
        : `${record.id} has no variant "${variant}"; it has ${names}.`,
      { param: 'variant' },
    );
  }
  const graphs = older.flatMap((revision) => {
    const same = revision.variants.find((v) => v.name === chosen.name);
    return same === undefined ? [] : [{ model: revision.id, file: same.file }];
  });
  return [...graphs, { model: record.id, file: chosen.file }].map((graph, index) => ({
    version: index + 1,
    variant: chosen.name,
    ...graph,
  }));
}

/** A graph's declared inputs and outputs. */
export interface GraphSignature {
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
}

/**
 * The versions whose graph has the newest one's inputs and outputs (one config.pbtxt describes
 * them all), renumbered from 1, and the older ones left out, each with why. `signatureOf` reads a
 * graph's signature; one it cannot read is left out too.
 */
export function sameSignatureVersions(
  versions: readonly ExportVersion[],
  newest: GraphSignature,
  signatureOf: (file: string) => GraphSignature,
): { kept: ExportVersion[]; skipped: { model: string; reason: string }[] } {
  const skipped: { model: string; reason: string }[] = [];
  const matching = versions.slice(0, -1).filter((version) => {
    let signature: GraphSignature;
    try {
      signature = signatureOf(version.file);
    } catch {
      skipped.push({ model: version.model, reason: 'its graph could not be read' });
      return false;
    }
    const reason = signatureDifference(signature, newest);
    if (reason !== null) skipped.push({ model: version.model, reason });
    return reason === null;
  });
  const kept = [...matching, ...versions.slice(-1)].map((version, index) => ({
    ...version,
    version: index + 1,
  }));
  return { kept, skipped };
}

/** How an older graph's signature differs from the newest one's, in words; null when it does not. */
function signatureDifference(older: GraphSignature, newest: GraphSignature): string | null {
  const key = (tensors: readonly TensorInfo[]) =>
    JSON.stringify(tensors.map((tensor) => [tensor.name, tensor.type, tensor.shape]));
  if (key(older.inputs) !== key(newest.inputs))
    return `its inputs (${older.inputs.map((tensor) => tensor.name).join(', ')}) differ from the newest revision's (${newest.inputs.map((tensor) => tensor.name).join(', ')}) in names, types or shapes`;
  if (key(older.outputs) !== key(newest.outputs))
    return `its outputs (${older.outputs.map((tensor) => tensor.name).join(', ')}) differ from the newest revision's (${newest.outputs.map((tensor) => tensor.name).join(', ')}) in names, types or shapes`;
  return null;
}
