import type { FastifyInstance } from 'fastify';
import type { ModelDetail, ModelSummary, RunningModelView } from '../../../../shared/contract/models';
import type { TensorInfo } from '../../../../shared/engine';
import type { Engine, RunningModelWithMemory } from '../../engine/engine';
import type { ModelRecord } from '../../library/model-record';
import type { InferenceLog } from '../../metrics/inference-log';
import { LodgeError } from '../../errors';
import { keepAliveMsOf } from '../../model-policy';
import { contractRoute } from '../contract-route';

/** The library as the app API shows it. */
export function modelSummary(record: ModelRecord): ModelSummary {
  return {
    id: record.id,
    format: record.format,
    task: record.task,
    architecture: record.architecture,
    variants: record.variants.map((variant) => ({ name: variant.name, bytes: variant.bytes })),
    contextLength: record.contextLength,
    hasChatTemplate: record.hasChatTemplate,
    status: record.status,
    source: record.source,
    location: record.dir,
    parameterCount: record.parameterCount,
    totalBytes: record.files.reduce((sum, file) => sum + file.bytes, 0),
    alias: record.alias,
    tags: [...record.tags],
    preset: record.preset,
    addedAt: record.addedAt,
    lastUsedAt: record.lastUsedAt,
  };
}

/** A model with its files and graph I/O. */
export function modelDetail(record: ModelRecord): ModelDetail {
  const io = (infos: readonly TensorInfo[]) =>
    infos.map((info) => ({ name: info.name, type: info.type, shape: [...info.shape] }));
  return {
    ...modelSummary(record),
    files: [...record.files],
    inputs: io(record.signature?.inputs ?? []),
    outputs: io(record.signature?.outputs ?? []),
  };
}

/** A running model with times as ISO strings. */
export function runningView(model: RunningModelWithMemory): RunningModelView {
  const iso = (time: number) => new Date(time).toISOString();
  return {
    ...model,
    skippedProviders: [...model.skippedProviders],
    loadedAt: iso(model.loadedAt),
    lastUsedAt: iso(model.lastUsedAt),
    expiresAt: model.expiresAt === null ? null : iso(model.expiresAt),
  };
}

/** `/app/models`, `/app/runners` (list, load, unload) and `/app/inferences`. */
export function registerEngineRoutes(app: FastifyInstance, engine: Engine, inferences: InferenceLog): void {
  contractRoute(app, 'runners', async () => ({
    models: (await engine.runningWithMemory()).map(runningView),
  }));
  contractRoute(app, 'loadModel', async ({ body }) => {
    const { model, keepAliveSeconds } = body;
    const { model: id } = await engine.load(
      model,
      keepAliveSeconds === undefined ? undefined : keepAliveMsOf(keepAliveSeconds),
    );
    const running = (await engine.runningWithMemory()).find((entry) => entry.id === id);
    if (!running) {
      throw new LodgeError(
        'conflict',
        `${id} loaded, and was unloaded at once (keep-alive 0, or an unload came meanwhile); give a keep-alive above 0 to keep it.`,
        { param: 'keepAliveSeconds' },
      );
    }
    return runningView(running);
  });
  contractRoute(app, 'unloadModel', async ({ body }) => {
    const { model } = body;
    const id = engine.resolve(model).record.id;
    return { model: id, unloaded: await engine.unload(id) };
  });
  contractRoute(app, 'inferences', ({ query }) => {
    const { limit } = query;
    return { inferences: inferences.recent(limit) };
  });
}
