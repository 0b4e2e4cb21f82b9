import type { FinishReason, GenerateEvent, GenerateRequest, TokenLogprob } from '../../../shared/engine';
import { grammarMask } from '../grammar/sequence-grammar';
import type { GrammarMask } from '../grammar/grammar-mask';
import { RunnerError } from '../runner-error';
import { StreamingDetokenizer } from '../text/detokenizer';
import { StopMatcher } from '../text/stop-matcher';
import type { LanguageModel } from './language-model';
import { isGreedy, Sampler, type LogprobsById } from './sampler';
import type { Sequence } from './sequence';

/** The prompt of a request as token ids: the chat template rendered, or the raw text. */
export function promptTokens(model: LanguageModel, request: GenerateRequest, modelName: string): number[] {
  let text: string;
  if (request.prompt.kind === 'chat') {
    if (model.template === null) {
      throw new RunnerError(
        'invalid_request',
        `${modelName} has no chat template (tokenizer_config.json has no chat_template). Send a raw prompt to the completions API instead.`,
      );
    }
    text = model.template.render(request.prompt.messages, request.prompt.tools);
  } else {
    text = request.prompt.text;
  }
  // A rendered template writes its own special tokens (BOS included, where it wants one); raw text
  // gets what the tokenizer adds (a BOS, for Llama-style tokenizers), as Hugging Face pipelines do.
  const tokens = model.tokenizer.encode(text, request.prompt.kind !== 'chat');
  if (tokens.length === 0) throw new RunnerError('invalid_request', 'The prompt is empty.');
  return tokens;
}

/**
 * Generates text for `request`, streaming it in pieces that never split a character or show any
 * part of a stop string. Ends with one `done` event. Context policy: a prompt that does not fit
 * the window is an error; generation stops at the end of the window with finish reason `length`.
 */
export async function* generate(
  model: LanguageModel,
  request: GenerateRequest,
  modelName: string,
  signal: AbortSignal,
): AsyncGenerator<GenerateEvent> {
  // A greedy request without log-probabilities needs only each step's argmax: the screened head
  // gives it exactly, for a fraction of the head's cost (head-screen.ts).
  const sequence = model.openSequence(isGreedy(request.sampling) && request.logprobs === undefined);
  let mask: GrammarMask | null = null;
  try {
    mask = request.grammar ? await grammarMask(model, request.grammar) : null;
    yield* generateOwned(model, sequence, request, modelName, signal, mask);
  } finally {
    mask?.dispose();
    sequence.close();
  }
}

async function* generateOwned(
  model: LanguageModel,
  sequence: Sequence,
  request: GenerateRequest,
  modelName: string,
  signal: AbortSignal,
  mask: GrammarMask | null,
): AsyncGenerator<GenerateEvent> {
  const started = performance.now();
  const tokens = promptTokens(model, request, modelName);
  const context = Math.min(model.contextLength, request.contextLimit ?? Infinity);
  if (tokens.length >= context) {
    throw new RunnerError(
      'invalid_request',
      `The prompt is ${tokens.length} tokens, and ${modelName}'s context window is ${context}. Shorten the conversation or start a new one.`,
    );
  }
  const budget = Math.min(request.maxTokens ?? Infinity, context - tokens.length);

  const prefilled = await sequence.prefill(tokens, signal);
  const reused = prefilled.reused;
  let logits = prefilled.logits;
  const prefillMs = performance.now() - started;
  const sampler = new Sampler(request.sampling, tokens);
  const detokenizer = new StreamingDetokenizer((ids) => model.tokenizer.decode(ids));
  const stops = new StopMatcher(request.stop);
  const logprobs: TokenLogprob[] = [];
  let pendingTokens = 0;
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
    if (mask) await mask.apply(logits.values, budget - completion);
    const { token, logprobs: scored } = sampler.pick(logits.values, request.logprobs, logits.screen);
    firstTokenAt ??= performance.now();
    if (!request.ignoreEos && model.eosIds.has(token)) {
      finish = 'stop';
      break;
    }
    mask?.accept(token);
    sampler.accept(token);
    completion++;
    pendingTokens++;
    if (scored) logprobs.push(describe(model, token, scored));
    const { emit, stopped } = stops.push(detokenizer.push(token));
    // The first token is always announced, text or not: streams open (and TTFT is visible) at once,
    // even when a model's first tokens decode to nothing yet.
    if (emit !== '' || stopped || completion === 1) {
      yield {
        type: 'text',
        text: emit,
        tokens: pendingTokens,
        ...(scored ? { logprobs: logprobs.splice(0) } : {}),
        ...(completion === 1 ? { prompt: { tokens: tokens.length, cached: reused } } : {}),
      };
      pendingTokens = 0;
    }
    if (stopped) {
      finish = 'stop';
      matchedStop = true;
      break;
    }
    // A grammar that took its stop token (only when end-of-sequence is ignored) is complete.
    if (mask?.done) {
      finish = 'stop';
      break;
    }
    if (completion >= budget) break;
    // NOTE: each step passes through the event loop (the batch runs its step in a macrotask, once
    // every sequence has asked for it), so a cancel message from the core is handled before the
    // next token.
    logits = await sequence.step(token);
  }

  yield* endOfGeneration({
    detokenizer,
    stops,
    matchedStop,
    finish,
    pendingTokens,
    logprobs,
    promptTokens: tokens.length,
    cachedTokens: reused,
    completionTokens: completion,
    prefillMs,
    started,
    decodeStarted,
    firstTokenAt,
  });
}

/** Where a generation stands when its loop ends, for {@link endOfGeneration}. */
export interface GenerationEnd {
  readonly detokenizer: StreamingDetokenizer;
  readonly stops: StopMatcher;
  /** The loop ended on a stop string (nothing held back may follow it). */
  readonly matchedStop: boolean;
  readonly finish: FinishReason;
  /** Tokens decoded since the last text event. */
  readonly pendingTokens: number;
  /** Logprobs not yet sent; emptied here. */
  readonly logprobs: TokenLogprob[];
  readonly promptTokens: number;
  readonly cachedTokens: number;
  readonly completionTokens: number;
  readonly prefillMs: number;
  readonly started: number;
  readonly decodeStarted: number;
  readonly firstTokenAt: number | null;
}

/**
 * The last events of a generation ended by end-of-sequence, length, a stop string or a cancel:
 * what was held back (a partial character, text that only looked like the start of a stop string)
 * unless it completes a stop string, then the `done` event with the statistics.
 */
export function* endOfGeneration(end: GenerationEnd): Generator<GenerateEvent> {
  const { detokenizer, stops, logprobs } = end;
  let finish = end.finish;
  let rest = '';
  if (!end.matchedStop) {
    const tail = stops.push(detokenizer.flush());
    rest = tail.emit + (tail.stopped ? '' : stops.flush());
    if (tail.stopped) finish = 'stop';
  }
  if (rest !== '' || end.pendingTokens > 0 || logprobs.length > 0) {
    yield {
      type: 'text',
      text: rest,
      tokens: end.pendingTokens,
      ...(logprobs.length > 0 ? { logprobs: logprobs.splice(0) } : {}),
    };
  }
  const finished = performance.now();
  yield {
    type: 'done',
    finishReason: finish,
    ...(stops.matched !== null ? { stopSequence: stops.matched } : {}),
    stats: {
      promptTokens: end.promptTokens,
      cachedTokens: end.cachedTokens,
      completionTokens: end.completionTokens,
      prefillMs: end.prefillMs,
      decodeMs: finished - end.decodeStarted,
      timeToFirstTokenMs: (end.firstTokenAt ?? finished) - end.started,
    },
  };
}

function describe(model: LanguageModel, token: number, scored: LogprobsById): TokenLogprob {
  return {
    token: model.tokenizer.tokenText(token),
    logprob: scored.logprob,
    top: scored.top.map((entry) => ({ token: model.tokenizer.tokenText(entry.id), logprob: entry.logprob })),
  };
}
