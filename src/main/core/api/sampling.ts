import { GREEDY, type SamplingOptions } from '../../../shared/engine';
import type { GenerationDefaults } from '../library/model-record';

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
