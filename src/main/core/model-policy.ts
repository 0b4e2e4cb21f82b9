// Model policy in one place: how much memory a model takes, whether it fits the budget, how long it
// stays loaded, what a request runs with once the model's preset and the settings are applied, and
// its sampling (the request's, else the model's generation_config.json, else neutral).
// The scheduler, the engine, the composition root and the hub's fit check all ask here; the
// variant order itself is library/variant-choice.ts, which needs no record.
import {
  GREEDY,
  type ExecutionProvider,
  type GenerateRequest,
  type QuantizeMode,
  type SamplingOptions,
} from '../../shared/engine';
import type { Settings } from '../../shared/contract/settings';
import type { GenerationDefaults, ModelRecord, ModelVariant, VariantName } from './library/model-record';
import { chooseVariant } from './library/variant-choice';

/** Memory a session takes beyond its weight files (runtime, arena, activations): a factor and a floor. */
const OVERHEAD_FACTOR = 1.25;
const OVERHEAD_BYTES = 64 * 1024 * 1024;

/** The share of the machine's memory models may take when the user set no budget. */
const DEFAULT_BUDGET_SHARE = 0.8;

/** The longest delay a Node timer keeps (2^31 − 1 ms, about 24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Keep-alive meaning "keep it loaded until asked to unload". */
export const KEEP_FOREVER = -1;

/**
 * The memory a model with `weightBytes` of weights needs once loaded, as the scheduler budgets it:
 * whole bytes (Ollama's `/api/ps` reports it as `size`, and its Go client rejects a fraction).
 */
export function estimateBytes(weightBytes: number): number {
  return Math.ceil(Math.max(weightBytes * OVERHEAD_FACTOR, weightBytes + OVERHEAD_BYTES));
}

/** Whether a model with `weightBytes` of weights fits in `budgetBytes` on its own. */
export function fits(weightBytes: number, budgetBytes: number): boolean {
  return estimateBytes(weightBytes) <= budgetBytes;
}

/** The bytes models may take: the user's budget (MiB) where set, else a share of `totalBytes`. */
export function memoryBudgetBytes(budgetMb: number | null, totalBytes: number): number {
  return budgetMb !== null ? budgetMb * 1024 * 1024 : totalBytes * DEFAULT_BUDGET_SHARE;
}

/**
 * Keep-alive seconds (settings, presets, `/app/runners`) as the milliseconds the scheduler takes:
 * negative keeps the model loaded; 0 unloads after the request.
 */
export function keepAliveMsOf(seconds: number): number {
  return seconds < 0 ? KEEP_FOREVER : seconds * 1000;
}

/**
 * The keep-alive a timer can honour: negative, non-finite, or beyond {@link MAX_TIMER_MS} means
 * forever (Node would fire such a timer at once); otherwise the value itself.
 */
export function timerKeepAlive(keepAliveMs: number): number {
  if (keepAliveMs < 0 || !Number.isFinite(keepAliveMs) || keepAliveMs > MAX_TIMER_MS) return KEEP_FOREVER;
  return keepAliveMs;
}

/** The execution providers to try for a model: its preset's, else the settings'. */
export function providersOf(
  record: ModelRecord,
  settingsProviders: readonly ExecutionProvider[],
): readonly ExecutionProvider[] {
  return record.preset.providers ?? settingsProviders;
}

/** The threads a runner uses: the setting, or every physical core when it is 0. */
export function threadsOf(settingThreads: number, physicalCores: number): number {
  return settingThreads > 0 ? settingThreads : physicalCores;
}

/** The engine settings the scheduler decides with, from the user's settings and the machine. */
export function schedulerPolicy(
  settings: Settings,
  machine: { readonly physicalCores: number; readonly totalMemoryBytes: number },
) {
  return {
    providers: settings.providers,
    threads: threadsOf(settings.threads, machine.physicalCores),
    keepAliveMs: keepAliveMsOf(settings.keepAliveSeconds),
    maxLoadedModels: settings.maxLoadedModels,
    memoryBudgetBytes: memoryBudgetBytes(settings.memoryBudgetMb, machine.totalMemoryBytes),
    queueLimit: settings.maxQueue,
    parallel: settings.parallel,
    quantize: settings.quantize,
  };
}

/**
 * How many requests a model serves at once: text generations up to its preset's `parallel`, else
 * the setting's (the runner may report fewer when its graph cannot batch); one for other tasks.
 */
export function parallelOf(record: Pick<ModelRecord, 'task' | 'preset'>, settingParallel: number): number {
  if (record.task !== 'text-generation') return 1;
  return record.preset.parallel ?? settingParallel;
}

/**
 * The quantization a model is loaded with: its preset's, else the setting's, for text generation
 * (the only task whose runner rewrites its graph); `off` for others.
 */
export function quantizeOf(
  record: Pick<ModelRecord, 'task' | 'preset'>,
  setting: QuantizeMode,
): QuantizeMode {
  if (record.task !== 'text-generation') return 'off';
  return record.preset.quantize ?? setting;
}

/** A call's keep-alive in ms: its own, else the model's preset; undefined leaves it to the settings. */
export function callKeepAliveMs(record: ModelRecord, ownMs: number | undefined): number | undefined {
  if (ownMs !== undefined) return ownMs;
  const seconds = record.preset.keepAliveSeconds;
  return seconds === undefined ? undefined : keepAliveMsOf(seconds);
}

/** What a call runs with once the request, the model's preset and the settings are applied. */
export interface ResolvedCall {
  /** The variant to load. */
  readonly variant: ModelVariant;
  /** How long the model stays loaded afterwards; undefined: the settings' keep-alive. */
  readonly keepAliveMs: number | undefined;
}

/**
 * Resolves a call on a model: the variant (`wanted`, else the preset's, else the CPU's best) and
 * the keep-alive (the call's own, else the preset's, else the settings'). Providers, threads and
 * the memory budget are the scheduler's ({@link providersOf}, {@link schedulerPolicy}); the
 * preset's system prompt and max tokens apply to the request itself ({@link withPreset}).
 */
export function resolveCall(
  record: ModelRecord,
  wanted: VariantName | null,
  ownKeepAliveMs?: number,
): ResolvedCall {
  if (record.variants.length === 0) throw new Error(`${record.id} has no ONNX variant to load.`);
  return { variant: chooseVariant(record, wanted), keepAliveMs: callKeepAliveMs(record, ownKeepAliveMs) };
}

/**
 * A generation request with the model's preset filled in where the request left fields out:
 * its system prompt (when the chat has none) and its max tokens.
 */
export function withPreset(record: ModelRecord, request: GenerateRequest): GenerateRequest {
  const { systemPrompt, maxTokens } = record.preset;
  let next = request;
  if (next.maxTokens === undefined && maxTokens !== undefined) next = { ...next, maxTokens };
  if (
    systemPrompt &&
    next.prompt.kind === 'chat' &&
    !next.prompt.messages.some((message) => message.role === 'system' || message.role === 'developer')
  ) {
    next = {
      ...next,
      prompt: {
        ...next.prompt,
        messages: [{ role: 'system', content: systemPrompt }, ...next.prompt.messages],
      },
    };
  }
  return next;
}

/** Sampling fields as a request gives them; absent ones come from the model, then from greedy. */
export type SamplingInput = { -readonly [K in keyof SamplingOptions]?: SamplingOptions[K] | undefined };

/**
 * The sampling a request runs with: what it set, else the model's generation_config.json, else
 * neutral values. `fallbackTemperature` is the API's own default (OpenAI's is 1).
 */
export function resolveSampling(
  given: SamplingInput,
  defaults: GenerationDefaults,
  fallbackTemperature: number,
): SamplingOptions {
  const pick = <T>(value: T | undefined, fallback: T): T => (value === undefined ? fallback : value);
  const sampling: SamplingOptions = {
    temperature: pick(given.temperature, pick(defaults.temperature, fallbackTemperature)),
    topK: pick(given.topK, pick(defaults.topK, GREEDY.topK)),
    topP: pick(given.topP, pick(defaults.topP, GREEDY.topP)),
    minP: pick(given.minP, pick(defaults.minP, GREEDY.minP)),
    repetitionPenalty: pick(
      given.repetitionPenalty,
      pick(defaults.repetitionPenalty, GREEDY.repetitionPenalty),
    ),
    // NOTE: a penalty from generation_config.json has Hugging Face's meaning: every token of the
    // sequence, prompt included (transformers.js applies it so), not Ollama's last 64.
    repeatLastN: pick(
      given.repeatLastN,
      given.repetitionPenalty === undefined && defaults.repetitionPenalty !== undefined
        ? Number.MAX_SAFE_INTEGER
        : GREEDY.repeatLastN,
    ),
    presencePenalty: pick(given.presencePenalty, GREEDY.presencePenalty),
    frequencyPenalty: pick(given.frequencyPenalty, GREEDY.frequencyPenalty),
    ...(given.seed !== undefined ? { seed: given.seed } : {}),
    ...(given.logitBias !== undefined ? { logitBias: given.logitBias } : {}),
  };
  return sampling;
}
