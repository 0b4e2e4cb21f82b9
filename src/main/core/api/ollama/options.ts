import type { z } from 'zod';
import type { GenerateRequest } from '../../../../shared/engine';
import { LodgeError } from '../../errors';
import type { GenerationDefaults } from '../../library/model-record';
import { keepAliveMsOf, resolveSampling } from '../../model-policy';
import type { OptionsSchema } from './schemas';

/** Ollama's default temperature when neither the request nor the model sets one. */
const OLLAMA_TEMPERATURE = 0.8;

/** The model a request names, by `model` or the older `name`. */
export function modelName(body: { model?: string | undefined; name?: string | undefined }): string {
  const name = body.model ?? body.name;
  if (name === undefined || name.trim() === '') throw new LodgeError('invalid_request', 'model is required');
  return name;
}

/** Ollama options as a generation request's limits and sampling. */
export function generationOptions(
  options: z.infer<typeof OptionsSchema>,
  defaults: GenerationDefaults,
): Pick<GenerateRequest, 'maxTokens' | 'stop' | 'sampling' | 'contextLimit'> {
  const given = options ?? {};
  const predict = given.num_predict;
  return {
    ...(predict === undefined || predict < 0 ? {} : { maxTokens: Math.max(1, predict) }),
    stop: given.stop ?? [],
    ...(given.num_ctx !== undefined ? { contextLimit: given.num_ctx } : {}),
    sampling: resolveSampling(
      {
        temperature: given.temperature,
        topK: given.top_k,
        topP: given.top_p,
        minP: given.min_p,
        repetitionPenalty: given.repeat_penalty,
        repeatLastN:
          given.repeat_last_n === undefined
            ? undefined
            : given.repeat_last_n < 0
              ? (given.num_ctx ?? 4096)
              : given.repeat_last_n,
        presencePenalty: given.presence_penalty,
        frequencyPenalty: given.frequency_penalty,
        seed: given.seed !== undefined && given.seed >= 0 ? given.seed : undefined,
      },
      defaults,
      OLLAMA_TEMPERATURE,
    ),
  };
}

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * `keep_alive` in milliseconds: a number of seconds or a Go-style duration ("5m", "1h30m", "0");
 * negative keeps the model loaded. Undefined leaves it to the setting.
 */
export function keepAliveMs(value: number | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return keepAliveMsOf(value);
  const text = value.trim();
  if (/^-?\d+(\.\d+)?$/.test(text)) return keepAliveMs(Number(text));
  const negative = text.startsWith('-');
  let total = 0;
  const parts = [...text.replace(/^-/, '').matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== text.replace(/^-/, '')) {
    throw new LodgeError(
      'invalid_request',
      `keep_alive "${value}" is not a duration (try "5m", "1h" or "0").`,
    );
  }
  for (const [, amount, unit] of parts) total += Number(amount) * (UNIT_MS[unit as string] ?? 0);
  return negative ? -1 : total;
}

/** Nanoseconds, as Ollama reports every duration. */
export function ns(ms: number): number {
  return Math.round(ms * 1e6);
}
