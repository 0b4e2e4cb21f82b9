import type {
  EmbedRequest,
  EmbedResult,
  GenerateEvent,
  GenerateRequest,
  RouteNote,
} from '../../../shared/engine';
import type { CallOptions } from '../engine/engine';
import { Engine } from '../engine/engine';
import type { Scheduler } from '../engine/scheduler';
import { isLodgeError, LodgeError } from '../errors';
import type { ModelCatalog } from '../library/model-catalog';
import type { ModelRecord } from '../library/model-record';
import type { ResolvedModel } from '../library/model-resolver';
import type { Logger } from '../logging/logger';
import type { InferenceLog } from '../metrics/inference-log';
import type { ModelAliases } from './model-aliases';
import { remoteRecord } from './remote-record';
import type { RemoteEngines, RemoteTarget } from './remote-engines';

/** One place a routed request may go: a local model by name, or a remote engine's model. */
type Target =
  | { readonly kind: 'local'; readonly name: string }
  | { readonly kind: 'remote'; readonly name: string; readonly remote: RemoteTarget };

/**
 * Errors after which the next target is tried: the target could not be reached or could not run
 * (down, broken answer, gone, failed to load, crashed). What the client caused (a bad request) or
 * did (cancel) is answered at once.
 */
const FAIL_OVER = new Set([
  'unavailable',
  'upstream_failed',
  'model_not_found',
  'model_load_failed',
  'runner_crashed',
]);

/**
 * The engine every API family calls, with remote engines and model aliases on top of the local
 * one: a name that is a local model runs locally exactly as before; `engine/model` of a remote
 * engine the user added goes to it (translated to its OpenAI API); a model alias goes to the first
 * of its targets that answers, local or remote, skipping those found down, and moves on to the
 * next when one fails before anything came back. Which target served, and which failed, rides on
 * the generation's `done` event for the request log.
 */
export class RoutedEngine extends Engine {
  constructor(
    catalog: ModelCatalog,
    scheduler: Scheduler,
    private readonly inferences: InferenceLog,
    logger: Logger,
    private readonly remotes: RemoteEngines,
    private readonly aliases: () => ModelAliases,
  ) {
    super(catalog, scheduler, inferences, logger);
  }

  /** The local models, then the models each remote engine listed at its last successful check. */
  override models(): ModelRecord[] {
    return [
      ...super.models(),
      ...this.remotes
        .models()
        .map((target) => remoteRecord(`${target.engine}/${target.model}`, 'text-generation')),
    ];
  }

  /** A local model as before; else an alias or a remote model, as a record of that name. */
  override resolve(name: string): ResolvedModel {
    try {
      return super.resolve(name);
    } catch (error) {
      const targets = this.#targets(name);
      if (targets === null || !isLodgeError(error) || error.code !== 'model_not_found') throw error;
      return { record: remoteRecord(name.trim(), 'text-generation'), variant: null };
    }
  }

  /** Generates on the model a name routes to; the last event is `done`, with the route taken. */
  override async *generate(
    name: string,
    request: GenerateRequest,
    options: CallOptions = {},
  ): AsyncGenerator<GenerateEvent> {
    const targets = this.#routed(name);
    if (targets === null) {
      yield* super.generate(name, request, options);
      return;
    }
    const failed: { target: string; reason: string }[] = [];
    const ordered = this.#healthyFirst(targets, failed);
    for (const [index, target] of ordered.entries()) {
      const events = this.#open(target, request, options);
      let first: IteratorResult<GenerateEvent>;
      try {
        first = await events.next();
      } catch (error) {
        const last = index === ordered.length - 1;
        if (options.signal?.aborted || !isLodgeError(error) || !FAIL_OVER.has(error.code) || last) {
          throw targets.length === 1 ? error : allFailed(name, failed, target, error);
        }
        failed.push({ target: target.name, reason: error.message });
        continue;
      }
      const route: RouteNote = { served: target.name, failed };
      try {
        for (let step = first; !step.done; step = await events.next()) {
          const event = step.value;
          yield event.type === 'done' ? { ...event, route } : event;
        }
      } finally {
        await events.return(undefined);
      }
      return;
    }
    throw new LodgeError('unavailable', `The alias '${name}' has no target.`);
  }

  /** Embeds on the model a name routes to, trying an alias's targets in order. */
  override async embed(
    name: string,
    request: EmbedRequest,
    options: CallOptions = {},
  ): Promise<EmbedResult & { model: string }> {
    const targets = this.#routed(name);
    if (targets === null) return super.embed(name, request, options);
    const failed: { target: string; reason: string }[] = [];
    const ordered = this.#healthyFirst(targets, failed);
    for (const [index, target] of ordered.entries()) {
      try {
        if (target.kind === 'local') return await super.embed(target.name, request, options);
        return { ...(await this.remotes.embed(target.remote, request, options.signal)), model: target.name };
      } catch (error) {
        const last = index === ordered.length - 1;
        if (options.signal?.aborted || !isLodgeError(error) || !FAIL_OVER.has(error.code) || last)
          throw targets.length === 1 ? error : allFailed(name, failed, target, error);
        failed.push({ target: target.name, reason: error.message });
      }
    }
    throw new LodgeError('unavailable', `The alias '${name}' has no target.`);
  }

  /** Counts tokens locally; a remote model's tokenizer is not Lodge's to run. */
  override async countTokens(
    name: string,
    request: GenerateRequest,
    options: CallOptions = {},
  ): Promise<number> {
    if (this.#routed(name) !== null)
      throw new LodgeError(
        'not_implemented',
        `Counting tokens is not available for '${name}', which is not a local model.`,
      );
    return super.countTokens(name, request, options);
  }

  /** Whether a name is a local model, a remote engine's model, or neither (aliases aside). */
  kindOf(name: string): 'local' | 'remote' | 'unknown' {
    try {
      super.resolve(name);
      return 'local';
    } catch {
      return this.remotes.target(name) !== null ? 'remote' : 'unknown';
    }
  }

  /** The targets of a name that is not a local model; null for a local one (or one nobody has). */
  #routed(name: string): Target[] | null {
    try {
      super.resolve(name);
      return null;
    } catch {
      return this.#targets(name);
    }
  }

  #targets(name: string): Target[] | null {
    const trimmed = name.trim();
    const alias = this.aliases().targetsOf(trimmed);
    if (alias !== null) return alias.map((target) => this.#target(target));
    const remote = this.remotes.target(trimmed);
    return remote === null ? null : [{ kind: 'remote', name: trimmed, remote }];
  }

  #target(name: string): Target {
    if (this.kindOf(name) !== 'remote') return { kind: 'local', name };
    const remote = this.remotes.target(name);
    return remote === null ? { kind: 'local', name } : { kind: 'remote', name, remote };
  }

  /** Targets in order, those whose engine was found down moved last (and noted as skipped). */
  #healthyFirst(targets: readonly Target[], failed: { target: string; reason: string }[]): Target[] {
    if (targets.length === 1) return [...targets];
    const down = targets.filter(
      (target) => target.kind === 'remote' && this.remotes.isDown(target.remote.engine),
    );
    const up = targets.filter((target) => !down.includes(target));
    if (up.length === 0) return [...targets];
    for (const target of down)
      failed.push({ target: target.name, reason: 'skipped: down at its last check' });
    return up;
  }

  #open(target: Target, request: GenerateRequest, options: CallOptions): AsyncGenerator<GenerateEvent> {
    if (target.kind === 'local') return super.generate(target.name, request, options);
    return this.#remote(target, request, options.signal);
  }

  /** A remote generation, recorded in the inference log like a local one. */
  async *#remote(
    target: Extract<Target, { kind: 'remote' }>,
    request: GenerateRequest,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<GenerateEvent> {
    const started = performance.now();
    for await (const event of this.remotes.generate(target.remote, request, signal)) {
      if (event.type === 'done') {
        const { stats } = event;
        this.inferences.record({
          time: new Date().toISOString(),
          model: target.name,
          task: 'text-generation',
          promptTokens: stats.promptTokens,
          cachedTokens: stats.cachedTokens,
          completionTokens: stats.completionTokens,
          queueWaitMs: 0,
          timeToFirstTokenMs: stats.timeToFirstTokenMs,
          decodeTokensPerSecond: stats.decodeMs > 0 ? (stats.completionTokens / stats.decodeMs) * 1000 : null,
          totalMs: performance.now() - started,
          outcome: event.finishReason,
        });
      }
      yield event;
    }
  }
}

/** The error of an alias none of whose targets answered: each target and why, the last one's code. */
function allFailed(
  name: string,
  failed: readonly { target: string; reason: string }[],
  last: Target,
  error: unknown,
): LodgeError {
  if (!isLodgeError(error) || !FAIL_OVER.has(error.code))
    return isLodgeError(error) ? error : new LodgeError('internal', 'The generation failed.');
  const all = [...failed, { target: last.name, reason: error.message }];
  return new LodgeError(
    'unavailable',
    `No target of the alias '${name}' answered: ${all.map((entry) => `${entry.target} (${entry.reason})`).join('; ')}`,
    { retryAfterSeconds: 5 },
  );
}
