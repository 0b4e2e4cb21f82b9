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
 * the highest number by default).
 *
 * NOTE: seam for model revisions. Until the library keeps more than one revision of a model, a
 * model has one: its current files, exported as version 1. When revisions land, this returns one
 * entry per kept revision (oldest first, the active one last), each with that revision's graph of
 * the chosen variant; nothing else in the export changes.
 */
export function keptVersions(record: ModelRecord, variant: string | undefined): ExportVersion[] {
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
  return [{ version: 1, variant: chosen.name, file: chosen.file }];
}
