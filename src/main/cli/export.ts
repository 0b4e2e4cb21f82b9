import { isAbsolute, resolve } from 'node:path';
import { CliError, type CoreClient } from './client';
import { size } from './format';
import type { Output } from './output';
import { resolveModel } from './resolve-model';

/** What `lodge export` was told besides the model. */
export interface ExportOptions {
  readonly triton: string | undefined;
  readonly name?: string | undefined;
  readonly gpu: boolean;
  readonly instances?: string | undefined;
  readonly maxBatch?: string | undefined;
  readonly force: boolean;
}

function positiveInteger(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new CliError(`${flag} takes a whole number of at least 1.`);
  return value;
}

/**
 * `lodge export MODEL[:VARIANT] --triton DIR`: the running Lodge writes the model into DIR as a
 * Triton model repository (DIR/NAME/config.pbtxt, DIR/NAME/1/model.onnx and its external data)
 * with a KServe InferenceService beside it (DIR/NAME.kserve.yaml). DIR is resolved here, so a
 * relative one means the same folder to the server as to the shell.
 */
export async function exportModel(
  client: CoreClient,
  output: Output,
  requested: string,
  options: ExportOptions,
): Promise<void> {
  if (options.triton === undefined || options.triton === '')
    throw new CliError('lodge export needs --triton DIR, the model repository to write into.');
  const { model, variant } = await resolveModel(client, requested);
  const [owner = '', name = ''] = model.id.split('/', 2);
  const instanceCount = positiveInteger(options.instances, '--instances');
  const maxBatchSize = positiveInteger(options.maxBatch, '--max-batch');
  const result = await client.call('exportModel', {
    params: { owner, name },
    body: {
      dir: isAbsolute(options.triton) ? options.triton : resolve(options.triton),
      ...(options.name !== undefined ? { name: options.name } : {}),
      ...(variant !== null ? { variant } : {}),
      instanceKind: options.gpu ? 'gpu' : 'cpu',
      ...(instanceCount !== undefined ? { instanceCount } : {}),
      ...(maxBatchSize !== undefined ? { maxBatchSize } : {}),
      overwrite: options.force,
    },
  });
  const files = result.versions.flatMap((version) => version.files);
  const bytes = files.reduce((total, file) => total + file.bytes, 0);
  const linked = files.filter((file) => file.how === 'linked').length;
  output.out(
    [
      `exported ${result.model} as Triton model ${result.name} (${size(bytes)}, ${linked} of ${files.length} files hard-linked)`,
      `  ${result.configFile}`,
      ...result.versions.map((version) => `  ${result.modelDir}/${version.version}/ (${version.variant})`),
      ...result.skipped.map((left) => `  left out ${left.model}: ${left.reason}`),
      `  ${result.manifestFile} (set storageUri to where you upload ${result.repository})`,
      result.maxBatchSize > 0
        ? `  batching: up to ${result.maxBatchSize} per batch, dynamic batching on`
        : '  batching: off (max_batch_size 0; shapes as the graph declares them)',
      '',
    ].join('\n'),
  );
}
