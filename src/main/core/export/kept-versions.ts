import type { ModelRecord } from '../library/model-record';
import { LodgeError } from '../errors';

/** One version folder of an export: Triton's version number, and the graph file it holds. */
export interface ExportVersion {
  readonly version: number;
  readonly variant: string;
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
  const files = older.flatMap((revision) => {
    const same = revision.variants.find((v) => v.name === chosen.name);
    return same === undefined ? [] : [same.file];
  });
  return [...files, chosen.file].map((file, index) => ({ version: index + 1, variant: chosen.name, file }));
}
