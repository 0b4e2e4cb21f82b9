import type { ModelTask } from '../../../shared/engine';
import type { ModelRecord } from '../library/model-record';

/**
 * A model that is not in the local library (a remote engine's, or an alias) as a library record,
 * so that every family lists and names it as it does a local one: no folder, no files, no
 * preset, no sampling defaults of its own (the remote applies its own). NOTE: it carries one
 * zero-byte placeholder variant, since views of a local model always name the variant they would load.
 */
export function remoteRecord(id: string, task: ModelTask): ModelRecord {
  return {
    id,
    dir: '',
    format: 'onnx',
    task,
    architecture: null,
    variants: [{ name: 'fp32', file: '', bytes: 0 }],
    contextLength: null,
    hasChatTemplate: true,
    generationDefaults: {},
    chatTemplate: null,
    modifiedAt: 0,
    signature: null,
    source: { kind: 'folder' },
    status: 'ready',
    parameterCount: null,
    files: [],
    alias: null,
    tags: ['remote'],
    preset: {},
    addedAt: new Date(0).toISOString(),
    lastUsedAt: null,
    samplingDefaults: {},
  };
}
