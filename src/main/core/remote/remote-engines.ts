import { z } from 'zod';
import type { EngineHealth, RemoteEngine } from '../../../shared/contract/remote';
import type { EmbedRequest, EmbedResult, GenerateEvent, GenerateRequest } from '../../../shared/engine';
import type { RemoteEngineRepository, StoredRemoteEngine } from '../db/remote-engine-repository';
import { LodgeError } from '../errors';
import type { Logger } from '../logging/logger';
import { checkApiKey, checkEngineName, normalizeBaseUrl } from './remote-endpoint';
import { streamGeneration } from './remote-generation';
import { readBounded, UpstreamError, upstreamRequest, type UpstreamResponse } from './upstream-request';
import { upstreamErrorText } from './openai-translation';
import { statusError, upstreamFailure, withRetry } from './upstream-failure';

/** The most a model list may weigh. */
const MAX_LIST_BYTES = 4 * 1024 * 1024;

/** The most an embeddings answer may weigh. */
const MAX_EMBEDDINGS_BYTES = 64 * 1024 * 1024;

/** The longest a health check waits on a silent engine, whatever the idle timeout of generations. */
const CHECK_IDLE_MS = 10_000;

/** How often every engine is checked in the background. */
const CHECK_INTERVAL_MS = 60_000;

const ModelListSchema = z.looseObject({
  data: z.array(z.looseObject({ id: z.string().min(1).max(256) })).max(10_000),
});

const EmbeddingsSchema = z.looseObject({
  data: z.array(z.looseObject({ index: z.number().int().min(0).optional(), embedding: z.array(z.number()) })),
  usage: z.looseObject({ prompt_tokens: z.number().int().min(0).nullish() }).nullish(),
});

/** A remote model named the Lodge way: the engine and the model's own id there. */
export interface RemoteTarget {
  readonly engine: string;
  readonly model: string;
}

/** How long a remote engine may take to accept a connection, and to stay silent once connected. */
export interface RemoteTimeouts {
  readonly connectTimeoutMs?: number;
  readonly idleTimeoutMs?: number;
}

interface EngineState {
  health: EngineHealth;
  models: string[];
}

const UNCHECKED: EngineHealth = { status: 'unknown', checkedAt: null, latencyMs: null, error: null };

/**
 * The OpenAI-compatible engines the user added: stored in SQLite, checked (their model list, timed)
 * when added, on demand and every minute, and called for generations and embeddings. Lodge
 * connects to these endpoints and nothing else; their keys never leave the core.
 */
export class RemoteEngines {
  readonly #states = new Map<string, EngineState>();
  #timer: NodeJS.Timeout | null = null;
  readonly #closing = new AbortController();

  constructor(
    private readonly repository: RemoteEngineRepository,
    private readonly logger: Logger,
    private readonly timeouts: RemoteTimeouts = {},
    /** The ids of the library's local models, whose owners no engine may be named after. */
    private readonly localIds: () => readonly string[] = () => [],
  ) {}

  /** Starts the background checks (the first at once); {@link dispose} stops them. */
  start(): void {
    const all = () => {
      for (const engine of this.repository.list()) void this.check(engine.name).catch(() => undefined);
    };
    all();
    this.#timer = setInterval(all, CHECK_INTERVAL_MS);
    this.#timer.unref();
  }

  /** Stops the background checks. */
  dispose(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    // A check still waiting on a slow engine is cut, so it holds nothing open past shutdown.
    this.#closing.abort();
  }

  /** Every engine as the API shows it. */
  list(): RemoteEngine[] {
    return this.repository.list().map((engine) => this.#view(engine));
  }

  /** One engine as the API shows it, or `not_found`. */
  get(name: string): RemoteEngine {
    return this.#view(this.#stored(name));
  }

  /** Whether an engine by that name exists. */
  has(name: string): boolean {
    return this.repository.list().some((engine) => engine.name === name);
  }

  /** Adds an engine or changes the one of that name (an absent key keeps the stored one), then checks it. */
  async add(input: {
    name: string;
    baseUrl?: string | undefined;
    url?: string | undefined;
    apiKey?: string | null | undefined;
  }): Promise<RemoteEngine> {
    const name = checkEngineName(input.name);
    // `demo/chat` would name both the local model and the engine's model `chat`: refuse the clash.
    const owned = this.localIds().filter((id) => id.split('/')[0]?.toLowerCase() === name.toLowerCase());
    if (owned.length > 0)
      throw new LodgeError(
        'invalid_request',
        `'${name}' is the owner of local models (${owned.slice(0, 3).join(', ')}), so ${name}/<model> would name both; choose another engine name.`,
        { param: 'name' },
      );
    const baseUrl = normalizeBaseUrl(input.baseUrl ?? input.url ?? '');
    const existing = this.repository.list().find((engine) => engine.name === name);
    const apiKey =
      input.apiKey === undefined
        ? (existing?.apiKey ?? null)
        : input.apiKey === null
          ? null
          : checkApiKey(input.apiKey);
    this.repository.save({ name, baseUrl, apiKey, addedAt: existing?.addedAt ?? new Date().toISOString() });
    this.#states.delete(name);
    return this.check(name);
  }

  /** Removes an engine; false when there was none. */
  remove(name: string): boolean {
    this.#states.delete(name);
    return this.repository.remove(name);
  }

  /** Asks the engine for its model list now (one retry when it cannot be reached) and notes its health. */
  async check(name: string): Promise<RemoteEngine> {
    const engine = this.#stored(name);
    const started = performance.now();
    try {
      const response = await withRetry(() =>
        upstreamRequest({
          method: 'GET',
          url: endpoint(engine, 'models'),
          headers: headersOf(engine),
          signal: this.#closing.signal,
          ...this.timeouts,
          // Adding an engine waits on its check: a server that accepts and never answers is down soon.
          idleTimeoutMs: Math.min(this.timeouts.idleTimeoutMs ?? CHECK_IDLE_MS, CHECK_IDLE_MS),
        }),
      );
      const text = await readBounded(response.body, MAX_LIST_BYTES, hostOf(engine));
      if (response.status !== 200) throw new UpstreamError('refused', answeredWith(response, text));
      const parsed = ModelListSchema.safeParse(safeJson(text));
      if (!parsed.success)
        throw new UpstreamError('refused', `${hostOf(engine)} sent a model list Lodge cannot read`);
      this.#states.set(name, {
        health: {
          status: 'up',
          checkedAt: new Date().toISOString(),
          latencyMs: Math.round((performance.now() - started) * 10) / 10,
          error: null,
        },
        models: parsed.data.data.map((model) => model.id),
      });
    } catch (error) {
      this.#noteDown(name, error instanceof Error ? error.message : String(error));
    }
    return this.get(name);
  }

  /** The models each engine listed at its last check that succeeded (kept while it is down), as targets. */
  models(): RemoteTarget[] {
    return this.repository
      .list()
      .flatMap((engine) =>
        (this.#states.get(engine.name)?.models ?? []).map((model) => ({ engine: engine.name, model })),
      );
  }

  /** The models of every engine as `/app/models` lists them: Lodge's name, the engine, its health. */
  modelViews(): { id: string; engine: string; status: EngineHealth['status'] }[] {
    return this.models().map((target) => ({
      id: `${target.engine}/${target.model}`,
      engine: target.engine,
      status: this.#states.get(target.engine)?.health.status ?? 'unknown',
    }));
  }

  /** Whether the engine was found down at its last check or call. */
  isDown(name: string): boolean {
    return this.#states.get(name)?.health.status === 'down';
  }

  /**
   * Reads `engine/model` as a remote target when `engine` is an engine the user added (the
   * model part may hold more slashes and colons: `lab/owner/name`, `ollama/llama3:8b`).
   */
  target(name: string): RemoteTarget | null {
    const slash = name.indexOf('/');
    if (slash <= 0 || slash === name.length - 1) return null;
    const engine = name.slice(0, slash);
    if (!this.has(engine)) return null;
    const model = name.slice(slash + 1);
    // Ollama's clients add `:latest`; a server that lists the bare name is asked for that.
    const listed = this.#states.get(engine)?.models ?? [];
    const bare = model.endsWith(':latest') ? model.slice(0, -':latest'.length) : model;
    return { engine, model: !listed.includes(model) && listed.includes(bare) ? bare : model };
  }

  /** Generates on a remote engine, as the engine's own events; the last is `done`. */
  async *generate(
    target: RemoteTarget,
    request: GenerateRequest,
    signal?: AbortSignal,
  ): AsyncGenerator<GenerateEvent> {
    const engine = this.#stored(target.engine);
    try {
      yield* streamGeneration(
        {
          name: engine.name,
          host: hostOf(engine),
          url: (path) => endpoint(engine, path),
          headers: headersOf(engine),
          timeouts: this.timeouts,
        },
        target.model,
        request,
        signal,
      );
      this.#noteUp(engine.name);
    } catch (error) {
      if (isLodgeErrorCode(error, 'unavailable')) this.#noteDown(engine.name, error.message);
      throw error;
    }
  }

  /** Embeds on a remote engine (`POST /embeddings`), one retry when it cannot be reached. */
  async embed(target: RemoteTarget, request: EmbedRequest, signal?: AbortSignal): Promise<EmbedResult> {
    const engine = this.#stored(target.engine);
    const host = hostOf(engine);
    let response: UpstreamResponse;
    try {
      response = await withRetry(
        () =>
          upstreamRequest({
            method: 'POST',
            url: endpoint(engine, 'embeddings'),
            headers: headersOf(engine),
            body: JSON.stringify({ model: target.model, input: request.inputs, encoding_format: 'float' }),
            ...this.timeouts,
            ...(signal ? { signal } : {}),
          }),
        signal,
      );
    } catch (error) {
      throw this.#failure(engine, error);
    }
    let text: string;
    try {
      text = await readBounded(response.body, MAX_EMBEDDINGS_BYTES, host);
    } catch (error) {
      throw this.#failure(engine, error);
    }
    if (response.status !== 200) throw statusError(engine.name, target.model, response.status, text);
    const parsed = EmbeddingsSchema.safeParse(safeJson(text));
    if (!parsed.success || parsed.data.data.length !== request.inputs.length)
      throw new LodgeError(
        'upstream_failed',
        `The remote engine '${engine.name}' sent embeddings Lodge cannot read.`,
      );
    this.#noteUp(engine.name);
    const ordered = [...parsed.data.data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    return {
      embeddings: ordered.map((item) => unit(Float32Array.from(item.embedding), request.normalize !== false)),
      promptTokens: parsed.data.usage?.prompt_tokens ?? 0,
    };
  }

  #failure(engine: StoredRemoteEngine, error: unknown): LodgeError {
    const failure = upstreamFailure(engine.name, error);
    if (failure.code === 'unavailable') this.#noteDown(engine.name, failure.message);
    return failure;
  }

  #noteUp(name: string): void {
    const state = this.#states.get(name);
    if (state && state.health.status !== 'up')
      state.health = { ...state.health, status: 'up', error: null, checkedAt: new Date().toISOString() };
  }

  #noteDown(name: string, why: string): void {
    const previous = this.#states.get(name);
    this.logger.debug({ engine: name, why }, 'remote engine is down');
    this.#states.set(name, {
      health: {
        status: 'down',
        checkedAt: new Date().toISOString(),
        latencyMs: previous?.health.latencyMs ?? null,
        error: why,
      },
      models: previous?.models ?? [],
    });
  }

  #stored(name: string): StoredRemoteEngine {
    const engine = this.repository.list().find((entry) => entry.name === name);
    if (!engine) throw new LodgeError('not_found', `There is no remote engine named '${name.slice(0, 40)}'.`);
    return engine;
  }

  #view(engine: StoredRemoteEngine): RemoteEngine {
    const state = this.#states.get(engine.name);
    return {
      name: engine.name,
      baseUrl: engine.baseUrl,
      hasKey: engine.apiKey !== null,
      addedAt: engine.addedAt,
      health: state?.health ?? UNCHECKED,
      models: (state?.models ?? []).map((model) => `${engine.name}/${model}`),
    };
  }
}

/** An endpoint of an engine: its base URL and a path under it. */
function endpoint(engine: StoredRemoteEngine, path: string): URL {
  return new URL(`${engine.baseUrl}/${path}`);
}

function hostOf(engine: StoredRemoteEngine): string {
  return new URL(engine.baseUrl).host;
}

function headersOf(engine: StoredRemoteEngine): Record<string, string> {
  return {
    accept: 'application/json, text/event-stream',
    'user-agent': 'Lodge',
    ...(engine.apiKey !== null ? { authorization: `Bearer ${engine.apiKey}` } : {}),
  };
}

function answeredWith(response: UpstreamResponse, text: string): string {
  const said = upstreamErrorText(text);
  return `it answered HTTP ${response.status}${said === '' ? '' : `: ${said}`}`;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isLodgeErrorCode(error: unknown, code: string): error is LodgeError {
  return error instanceof LodgeError && error.code === code;
}

function unit(vector: Float32Array, normalize: boolean): Float32Array {
  if (!normalize) return vector;
  let sum = 0;
  for (const value of vector) sum += value * value;
  const norm = Math.sqrt(sum);
  if (norm > 0)
    for (let index = 0; index < vector.length; index++) vector[index] = (vector[index] as number) / norm;
  return vector;
}
