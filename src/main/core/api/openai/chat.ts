import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GenerateEvent, GenerateRequest, TokenLogprob } from '../../../../shared/engine';
import type { Engine } from '../../engine/engine';
import { isLodgeError, LodgeError } from '../../errors';
import { resolveSampling } from '../sampling';
import { clientGone, openStream } from '../streaming';
import { parseToolCalls, ToolCallHoldback, type ToolCall } from '../tool-calls';
import { formatOpenAiError } from './errors';
import { offeredTools, templateMessages } from './messages';
import type { ChatCompletionRequest } from './schemas';
import {
  chatLogprobs,
  finishReason,
  nowSeconds,
  openAiId,
  samplingInput,
  sse,
  stopList,
  timings,
  usage,
} from './shared';

/** `POST /v1/chat/completions`, streamed (SSE) or not, with tool calls and logprobs. */
export async function chatCompletions(
  engine: Engine,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<unknown> {
  const body = request.body as ChatCompletionRequest;
  if (body.response_format && body.response_format.type !== 'text') {
    throw new LodgeError(
      'invalid_request',
      `response_format "${body.response_format.type}" needs constrained decoding, which Lodge does not do yet; ask for JSON in the prompt instead.`,
      { param: 'response_format' },
    );
  }
  if ((body.top_logprobs ?? 0) > 0 && body.logprobs !== true) {
    throw new LodgeError('invalid_request', 'top_logprobs needs logprobs: true.', { param: 'top_logprobs' });
  }
  const { record } = engine.resolve(body.model);
  const tools = offeredTools(body);
  const generate: GenerateRequest = {
    prompt: { kind: 'chat', messages: templateMessages(body.messages), ...(tools ? { tools } : {}) },
    ...(body.max_completion_tokens != null || body.max_tokens != null
      ? { maxTokens: (body.max_completion_tokens ?? body.max_tokens) as number }
      : {}),
    stop: stopList(body.stop),
    sampling: resolveSampling(samplingInput(body), record.samplingDefaults, 1),
    ...(body.logprobs === true ? { logprobs: body.top_logprobs ?? 0 } : {}),
  };
  const signal = clientGone(request, reply);
  const events = engine.generate(body.model, generate, { signal });
  const first = await events.next();
  const id = openAiId('chatcmpl');
  const created = nowSeconds();
  const offered = new Set((tools ?? []).map((tool) => tool.function.name));

  if (body.stream !== true) {
    let text = '';
    const logprobs: TokenLogprob[] = [];
    let done: Extract<GenerateEvent, { type: 'done' }> | null = null;
    for (let step = first; !step.done; step = await events.next()) {
      const event = step.value;
      if (event.type === 'text') {
        text += event.text;
        logprobs.push(...(event.logprobs ?? []));
      } else done = event;
    }
    if (done === null) throw new LodgeError('internal', 'The generation ended without a result.');
    const { content, calls } =
      offered.size > 0 ? parseToolCalls(text, offered) : { content: text, calls: [] };
    return reply.send({
      id,
      object: 'chat.completion',
      created,
      model: record.id,
      system_fingerprint: 'fp_lodge',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: calls.length > 0 && content === '' ? null : content,
            refusal: null,
            ...(calls.length > 0 ? { tool_calls: calls.map(toOpenAiCall) } : {}),
          },
          logprobs: body.logprobs === true ? { content: chatLogprobs(logprobs), refusal: null } : null,
          finish_reason: calls.length > 0 ? 'tool_calls' : finishReason(done.finishReason),
        },
      ],
      usage: usage(done.stats),
      timings: timings(done.stats),
    });
  }

  const stream = openStream(request, reply, 'text/event-stream; charset=utf-8', signal);
  const includeUsage = body.stream_options?.include_usage === true;
  const envelope = {
    id,
    object: 'chat.completion.chunk',
    created,
    model: record.id,
    system_fingerprint: 'fp_lodge',
  };
  const chunk = (delta: object, finish: string | null, logprobs?: readonly TokenLogprob[]) =>
    sse({
      ...envelope,
      choices: [
        {
          index: 0,
          delta,
          logprobs: logprobs ? { content: chatLogprobs(logprobs), refusal: null } : null,
          finish_reason: finish,
        },
      ],
      ...(includeUsage ? { usage: null } : {}),
    });
  const holdback = offered.size > 0 ? new ToolCallHoldback() : null;
  stream.write(chunk({ role: 'assistant', content: '' }, null));
  try {
    for (let step = first; !step.done; step = await events.next()) {
      const event = step.value;
      if (event.type === 'text') {
        const visible = holdback ? holdback.push(event.text) : event.text;
        if (visible !== '' || event.logprobs) stream.write(chunk({ content: visible }, null, event.logprobs));
        continue;
      }
      let calls: ToolCall[] = [];
      if (holdback) {
        const parsed = parseToolCalls(holdback.finish(), offered);
        calls = parsed.calls;
        if (parsed.content !== '') stream.write(chunk({ content: parsed.content }, null));
        calls.forEach((call, index) => {
          const openAi = toOpenAiCall(call);
          stream.write(
            chunk(
              {
                tool_calls: [
                  { index, id: openAi.id, type: 'function', function: { name: call.name, arguments: '' } },
                ],
              },
              null,
            ),
          );
          stream.write(
            chunk({ tool_calls: [{ index, function: { arguments: openAi.function.arguments } }] }, null),
          );
        });
      }
      stream.write(chunk({}, calls.length > 0 ? 'tool_calls' : finishReason(event.finishReason)));
      if (includeUsage) {
        stream.write(
          sse({ ...envelope, choices: [], usage: usage(event.stats), timings: timings(event.stats) }),
        );
      }
    }
    stream.write('data: [DONE]\n\n');
  } catch (error) {
    const lodgeError = isLodgeError(error)
      ? error
      : new LodgeError('internal', 'The generation failed; the server log has the details.');
    request.log.warn({ err: error }, 'chat stream failed');
    stream.write(sse(formatOpenAiError(lodgeError).body));
  } finally {
    stream.end();
  }
  return reply;
}

function toOpenAiCall(call: ToolCall) {
  return {
    id: openAiId('call'),
    type: 'function' as const,
    function: { name: call.name, arguments: JSON.stringify(call.arguments) },
  };
}
