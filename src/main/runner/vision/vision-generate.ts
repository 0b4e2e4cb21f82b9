import type { FinishReason, GenerateEvent, GenerateRequest, TokenLogprob } from '../../../shared/engine';
import { endOfGeneration } from '../llm/generate';
import { Sampler, type LogprobsById } from '../llm/sampler';
import { RunnerError } from '../runner-error';
import { StreamingDetokenizer } from '../text/detokenizer';
import { StopMatcher } from '../text/stop-matcher';
import type { VisionLanguageModel } from './vision-model';
import { visionPrompt } from './vision-prompt';

/** The prompt tokens of a vision request, as `generateWithImages` would feed them. */
export async function visionPromptTokens(
  model: VisionLanguageModel,
  request: GenerateRequest,
  name: string,
): Promise<number> {
  return (await visionPrompt(model, request, name)).ids.length;
}

/**
 * Generates text for a chat request with images on a vision-language model, streaming pieces that
 * never split a character or show part of a stop string; ends with one `done` event. The same
 * context policy as text models: a prompt that does not fit is an error, the window's end is `length`.
 */
export async function* generateWithImages(
  model: VisionLanguageModel,
  request: GenerateRequest,
  name: string,
  signal: AbortSignal,
): AsyncGenerator<GenerateEvent> {
  if (request.grammar)
    throw new RunnerError(
      'invalid_request',
      `${name} is a vision-language model; Lodge does not constrain its output to a format or schema.`,
    );
  const release = model.acquire();
  try {
    yield* generateOwned(model, request, name, signal);
  } finally {
    release();
  }
}

async function* generateOwned(
  model: VisionLanguageModel,
  request: GenerateRequest,
  name: string,
  signal: AbortSignal,
): AsyncGenerator<GenerateEvent> {
  const started = performance.now();
  const { ids, images } = await visionPrompt(model, request, name);
  const context = Math.min(model.contextLength, request.contextLimit ?? Infinity);
  if (ids.length >= context) {
    throw new RunnerError(
      'invalid_request',
      `The prompt is ${ids.length} tokens (images included), and ${name}'s context window is ${context}. Send fewer or smaller images, or a shorter conversation.`,
    );
  }
  const budget = Math.min(request.maxTokens ?? Infinity, context - ids.length);
  const embeds = await model.embeddings(ids, images, signal);
  const prefilled = await model.prefill(ids, embeds, signal);
  let logits = prefilled.logits;
  const prefillMs = performance.now() - started;
  const sampler = new Sampler(request.sampling, ids);
  const detokenizer = new StreamingDetokenizer((tokens) => model.tokenizer.decode(tokens));
  const stops = new StopMatcher(request.stop);
  const logprobs: TokenLogprob[] = [];
  let pending = 0;
  let completion = 0;
  let firstTokenAt: number | null = null;
  let finish: FinishReason = 'length';
  let matchedStop = false;
  const decodeStarted = performance.now();

  while (completion < budget) {
    if (signal.aborted) {
      finish = 'cancelled';
      break;
    }
    const { token, logprobs: scored } = sampler.pick(logits, request.logprobs);
    firstTokenAt ??= performance.now();
    if (!request.ignoreEos && model.eosIds.has(token)) {
      finish = 'stop';
      break;
    }
    sampler.accept(token);
    completion++;
    pending++;
    if (scored) logprobs.push(describe(model, token, scored));
    const { emit, stopped } = stops.push(detokenizer.push(token));
    if (emit !== '' || stopped || completion === 1) {
      yield {
        type: 'text',
        text: emit,
        tokens: pending,
        ...(scored ? { logprobs: logprobs.splice(0) } : {}),
        ...(completion === 1 ? { prompt: { tokens: ids.length, cached: prefilled.reused } } : {}),
      };
      pending = 0;
    }
    if (stopped) {
      finish = 'stop';
      matchedStop = true;
      break;
    }
    if (completion >= budget) break;
    logits = await model.step(token);
  }

  yield* endOfGeneration({
    detokenizer,
    stops,
    matchedStop,
    finish,
    pendingTokens: pending,
    logprobs,
    promptTokens: ids.length,
    cachedTokens: prefilled.reused,
    completionTokens: completion,
    prefillMs,
    started,
    decodeStarted,
    firstTokenAt,
  });
}

function describe(model: VisionLanguageModel, token: number, scored: LogprobsById): TokenLogprob {
  return {
    token: model.tokenizer.tokenText(token),
    logprob: scored.logprob,
    top: scored.top.map((entry) => ({ token: model.tokenizer.tokenText(entry.id), logprob: entry.logprob })),
  };
}
