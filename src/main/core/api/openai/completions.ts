import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GenerateEvent, GenerateRequest, TokenLogprob } from '../../../../shared/engine';
import type { Engine } from '../../engine/engine';
import { isLodgeError, LodgeError } from '../../errors';
import { resolveSampling } from '../sampling';
import { clientGone, openStream } from '../streaming';
import { formatOpenAiError } from './errors';
import type { CompletionRequest } from './schemas';
import { finishReason, nowSeconds, openAiId, samplingInput, sse, stopList, usage } from './shared';

/** The spec's default for max_tokens on the legacy endpoint; clients rely on it being short. */
const LEGACY_DEFAULT_MAX_TOKENS = 16;

/** `POST /v1/completions` (legacy): a raw prompt, no chat template. */
export async function completions(
  engine: Engine,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<unknown> {
  const body = request.body as CompletionRequest;
  if (body.suffix)
    throw new LodgeError('invalid_request', 'suffix (fill-in-the-middle) is not supported.', {
      param: 'suffix',
    });
  const prompt = Array.isArray(body.prompt) ? (body.prompt[0] as string) : body.prompt;
  const { record } = engine.resolve(body.model);
  const generate: GenerateRequest = {
    prompt: { kind: 'text', text: prompt },
    maxTokens: body.max_tokens ?? LEGACY_DEFAULT_MAX_TOKENS,
    stop: stopList(body.stop),
    sampling: resolveSampling(samplingInput(body), record.samplingDefaults, 1),
    ...(body.logprobs !== null && body.logprobs !== undefined ? { logprobs: body.logprobs } : {}),
  };
  const signal = clientGone(request, reply);
  const events = engine.generate(body.model, generate, { signal });
  const first = await events.next();
  const id = openAiId('cmpl');
  const created = nowSeconds();
  const echo = body.echo === true ? prompt : '';

  if (body.stream !== true) {
    let text = echo;
    const scored: TokenLogprob[] = [];
    let done: Extract<GenerateEvent, { type: 'done' }> | null = null;
    for (let step = first; !step.done; step = await events.next()) {
      if (step.value.type === 'text') {
        text += step.value.text;
        scored.push(...(step.value.logprobs ?? []));
      } else done = step.value;
    }
    if (done === null) throw new LodgeError('internal', 'The generation ended without a result.');
    return reply.send({
      id,
      object: 'text_completion',
      created,
      model: record.id,
      choices: [
        {
          text,
          index: 0,
          logprobs: body.logprobs != null ? legacyLogprobs(scored, echo.length) : null,
          finish_reason: finishReason(done.finishReason),
        },
      ],
      usage: usage(done.stats),
    });
  }

  const stream = openStream(request, reply, 'text/event-stream; charset=utf-8', signal);
  const chunk = (text: string, finish: string | null) =>
    sse({
      id,
      object: 'text_completion',
      created,
      model: record.id,
      choices: [{ text, index: 0, logprobs: null, finish_reason: finish }],
    });
  try {
    if (echo !== '') stream.write(chunk(echo, null));
    for (let step = first; !step.done; step = await events.next()) {
      const event = step.value;
      if (event.type === 'text') {
        if (event.text !== '') stream.write(chunk(event.text, null));
        continue;
      }
      stream.write(chunk('', finishReason(event.finishReason)));
      if (body.stream_options?.include_usage === true) {
        stream.write(
          sse({
            id,
            object: 'text_completion',
            created,
            model: record.id,
            choices: [],
            usage: usage(event.stats),
          }),
        );
      }
    }
    stream.write('data: [DONE]\n\n');
  } catch (error) {
    request.log.warn({ err: error }, 'completion stream failed');
    stream.write(
      sse(
        formatOpenAiError(isLodgeError(error) ? error : new LodgeError('internal', 'The generation failed.'))
          .body,
      ),
    );
  } finally {
    stream.end();
  }
  return reply;
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
