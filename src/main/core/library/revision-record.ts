import { existsSync } from 'node:fs';
import type { ModelFile, ModelPreset, ModelSource } from '../../../shared/contract/library';
import type { RevisionFile, RevisionRow } from '../db/revision-repository';
import { LodgeError } from '../errors';
import { inspectModelFolder } from './model-folder';
import type { FolderInfo, ModelRecord } from './model-record';
import { joinRecord } from './model-store';
import { contentRevision, revisionRecordId, shortRevision } from './revision-id';

/** A file of a model as a download or an import hands it over: its checksums, as known. */
export interface IncomingFile {
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string | null;
  readonly gitOid?: string | null | undefined;
}

/** The revision a folder's files make: the hub commit it came from, or their content hash. */
export function revisionOf(source: ModelSource, files: readonly IncomingFile[]): string | null {
  return source.kind === 'hub' ? source.revision : contentRevision(files);
}

/** A file as the model's record keeps it. */
export function modelFile(file: IncomingFile): ModelFile {
  return { path: file.path, bytes: file.bytes, sha256: file.sha256 };
}

/** A file as a revision keeps it. */
export function revisionFile(file: IncomingFile): RevisionFile {
  return { path: file.path, bytes: file.bytes, sha256: file.sha256, gitOid: file.gitOid ?? null };
}

/** The model's preset for a revision: its variant only where that revision has it. */
export function presetFor(preset: ModelPreset, info: FolderInfo): ModelPreset {
  if (preset.variant === undefined || info.variants.some((variant) => variant.name === preset.variant))
    return preset;
  const { variant: _gone, ...rest } = preset;
  return rest;
}

/**
 * The record that runs a revision other than the active one: what its folder holds, the model's
 * settings (no alias: that names the model), under the id `owner/name@0123456789ab`, so the
 * scheduler keeps it apart from the model's active revision. A 404 when its folder is gone.
 */
export function revisionRecord(model: ModelRecord, row: RevisionRow): ModelRecord {
  const id = revisionRecordId(model.id, row.revision);
  const result = existsSync(row.location)
    ? inspectModelFolder(row.location, id)
    : { reason: 'has no folder' };
  if ('reason' in result)
    throw new LodgeError(
      'model_not_found',
      `The files of revision ${shortRevision(row.revision)} of ${model.id} are missing. Delete that revision, or pull it again.`,
      { param: 'model' },
    );
  return joinRecord(result.record, {
    ...model,
    source: row.source,
    files: row.files.map(modelFile),
    alias: null,
    preset: presetFor(model.preset, result.record),
  });
}
