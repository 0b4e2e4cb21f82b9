import { randomBytes } from 'node:crypto';
import type { FinishReason, GenerationStats, TokenLogprob } from '../../../../shared/engine';
import type { ChatLogprob, CompletionUsage, GenerationTimings } from '../../../../shared/openai-stream';
import { LodgeError } from '../../errors';
import type { SamplingInput } from '../../model-policy';

/** An id in OpenAI's style: a prefix and random characters. */
export function openAiId(prefix: string): string {
  return `${prefix}-${randomBytes(12).toString('base64url')}`;
}

/** Unix seconds now. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Our finish reasons in OpenAI's words (a cancelled stream has no one left to read it). */
export function finishReason(reason: FinishReason): 'stop' | 'length' {
  return reason === 'length' ? 'length' : 'stop';
}

/** The usage object, with the tokens served from the KV cache reported as cached. */
export function usage(stats: GenerationStats): CompletionUsage {
  return {
    prompt_tokens: stats.promptTokens,
    completion_tokens: stats.completionTokens,
    total_tokens: stats.promptTokens + stats.completionTokens,
    prompt_tokens_details: { cached_tokens: stats.cachedTokens },
  };
}

/**
 * The engine's own clock for one generation, beside `usage` (llama.cpp's server reports the same
 * object): a client timing the stream measures delivery, which batches tokens into network reads.
 */
export function timings(stats: GenerationStats): GenerationTimings {
  return {
    prompt_n: stats.promptTokens,
    prompt_ms: stats.prefillMs,
    predicted_n: stats.completionTokens,
    predicted_ms: stats.decodeMs,
    predicted_per_second: stats.decodeMs > 0 ? (stats.completionTokens / stats.decodeMs) * 1000 : null,
  };
}

/** The sampling fields an OpenAI request may set. */
export function samplingInput(body: {
  temperature?: number | null | undefined;
  top_p?: number | null | undefined;
  top_k?: number | null | undefined;
  min_p?: number | null | undefined;
  repetition_penalty?: number | null | undefined;
  presence_penalty?: number | null | undefined;
  frequency_penalty?: number | null | undefined;
  logit_bias?: Record<string, number> | null | undefined;
  seed?: number | null | undefined;
  n?: number | null | undefined;
}): SamplingInput {
  if ((body.n ?? 1) > 1) {
    throw new LodgeError('invalid_request', 'n > 1 is not supported; send one request per completion.', {
      param: 'n',
    });
  }
  const bias = body.logit_bias
    ? Object.fromEntries(Object.entries(body.logit_bias).map(([id, value]) => [Number(id), value]))
    : undefined;
  return {
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    topK: body.top_k ?? undefined,
    minP: body.min_p ?? undefined,
    repetitionPenalty: body.repetition_penalty ?? undefined,
    presencePenalty: body.presence_penalty ?? undefined,
    frequencyPenalty: body.frequency_penalty ?? undefined,
    seed: body.seed ?? undefined,
    logitBias: bias,
  };
}

/** Stop strings as a list. */
export function stopList(stop: string | string[] | null | undefined): string[] {
  if (stop === null || stop === undefined) return [];
  return (Array.isArray(stop) ? stop : [stop]).filter((entry) => entry.length > 0);
}

/** A token's UTF-8 bytes, as OpenAI's logprobs carry them. */
export function utf8Bytes(token: string): number[] {
  return [...Buffer.from(token, 'utf8')];
}

/** Chat logprobs entries. */
export function chatLogprobs(entries: readonly TokenLogprob[]): ChatLogprob[] {
  return entries.map((entry) => ({
    token: entry.token,
    logprob: entry.logprob,
    bytes: utf8Bytes(entry.token),
    top_logprobs: entry.top.map((top) => ({
      token: top.token,
      logprob: top.logprob,
      bytes: utf8Bytes(top.token),
    })),
  }));
}

/** One SSE event. */
export function sse(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}
