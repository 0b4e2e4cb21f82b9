import type { GenerateRequest, TokenLogprob } from '../../../../shared/engine';
import type { Engine } from '../../engine/engine';
import { LodgeError } from '../../errors';
import type { StreamFormatter } from '../responder/formatter';
import { startGeneration, type Exchange } from '../responder/generation';
import { resolveSampling } from '../../model-policy';
import { formatOpenAiError } from './errors';
import type { CompletionRequest } from './schemas';
import { finishReason, nowSeconds, openAiId, samplingInput, sse, stopList, usage } from './shared';

/** The spec's default for max_tokens on the legacy endpoint; clients rely on it being short. */
const LEGACY_DEFAULT_MAX_TOKENS = 16;

/** `POST /v1/completions` (legacy): a raw prompt, no chat template. */
export async function completions(
  engine: Engine,
  body: CompletionRequest,
  exchange: Exchange,
): Promise<unknown> {
  if (body.suffix)
    throw new LodgeError('invalid_request', 'suffix (fill-in-the-middle) is not supported.', {
      param: 'suffix',
    });
  const prompt = typeof body.prompt === 'string' ? body.prompt : (body.prompt[0] ?? '');
  const { record } = engine.resolve(body.model);
  const request: GenerateRequest = {
    prompt: { kind: 'text', text: prompt },
    maxTokens: body.max_tokens ?? LEGACY_DEFAULT_MAX_TOKENS,
    stop: stopList(body.stop),
    sampling: resolveSampling(samplingInput(body), record.samplingDefaults, 1),
    ...(body.logprobs !== null && body.logprobs !== undefined ? { logprobs: body.logprobs } : {}),
  };
  const generation = await startGeneration(engine, exchange, { model: body.model, request });
  const envelope = {
    id: openAiId('cmpl'),
    object: 'text_completion',
    created: nowSeconds(),
    model: record.id,
  };
  const echo = body.echo === true ? prompt : '';

  if (body.stream === true) {
    const chunk = (text: string, finish: string | null) =>
      sse({ ...envelope, choices: [{ text, index: 0, logprobs: null, finish_reason: finish }] });
    const formatter: StreamFormatter = {
      contentType: 'text/event-stream; charset=utf-8',
      open: () => (echo !== '' ? chunk(echo, null) : ''),
      text: (text) => (text !== '' ? chunk(text, null) : ''),
      finish: (end) =>
        chunk('', finishReason(end.finishReason)) +
        (body.stream_options?.include_usage === true
          ? sse({ ...envelope, choices: [], usage: usage(end.stats) })
          : '') +
        'data: [DONE]\n\n',
      error: (error) => sse(formatOpenAiError(error).body),
    };
    return generation.pipe(formatter);
  }
  const result = await generation.collect();
  return exchange.reply.send({
    ...envelope,
    choices: [
      {
        text: echo + result.content,
        index: 0,
        logprobs: body.logprobs != null ? legacyLogprobs(result.logprobs, echo.length) : null,
        finish_reason: finishReason(result.finishReason),
      },
    ],
    usage: usage(result.stats),
  });
}

function legacyLogprobs(entries: readonly TokenLogprob[], offset: number) {
  const textOffset: number[] = [];
  let position = offset;
  for (const entry of entries) {
    textOffset.push(position);
    position += entry.token.length;
  }
  return {
    tokens: entries.map((entry) => entry.token),
    token_logprobs: entries.map((entry) => entry.logprob),
    top_logprobs: entries.map((entry) =>
      Object.fromEntries(entry.top.map((top) => [top.token, top.logprob])),
    ),
    text_offset: textOffset,
  };
}
