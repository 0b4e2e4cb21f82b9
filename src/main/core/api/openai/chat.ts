import type { GenerateRequest, TokenLogprob } from '../../../../shared/engine';
import type { ChatCompletionChunk, ChatFinishReason } from '../../../../shared/openai-stream';
import type { Engine } from '../../engine/engine';
import { LodgeError } from '../../errors';
import type { CollectedGeneration, GenerationEnd, StreamFormatter } from '../responder/formatter';
import { startGeneration, type Exchange } from '../responder/generation';
import { resolveSampling } from '../../model-policy';
import { grammarForToolChoice, grammarFromResponseFormat } from '../structured-output';
import type { ToolCall } from '../tool-calls';
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

/** What every reply of one chat completion carries. */
interface Envelope {
  readonly id: string;
  readonly created: number;
  readonly model: string;
}

/** `POST /v1/chat/completions`, streamed (SSE) or not, with tool calls and logprobs. */
export async function chatCompletions(
  engine: Engine,
  body: ChatCompletionRequest,
  exchange: Exchange,
): Promise<unknown> {
  if ((body.top_logprobs ?? 0) > 0 && body.logprobs !== true) {
    throw new LodgeError('invalid_request', 'top_logprobs needs logprobs: true.', { param: 'top_logprobs' });
  }
  const { record } = engine.resolve(body.model);
  const tools = offeredTools(body);
  // A forced tool call wins over a response format: the answer is then the call, not text.
  const grammar =
    grammarForToolChoice(tools, body.tool_choice, body.parallel_tool_calls !== false) ??
    grammarFromResponseFormat(body.response_format);
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  const request: GenerateRequest = {
    prompt: { kind: 'chat', messages: templateMessages(body.messages), ...(tools ? { tools } : {}) },
    ...(maxTokens != null ? { maxTokens } : {}),
    stop: stopList(body.stop),
    sampling: resolveSampling(samplingInput(body), record.samplingDefaults, 1),
    ...(body.logprobs === true ? { logprobs: body.top_logprobs ?? 0 } : {}),
    ...(grammar ? { grammar } : {}),
  };
  const generation = await startGeneration(engine, exchange, {
    model: body.model,
    request,
    tools: new Set((tools ?? []).map((tool) => tool.function.name)),
  });
  const envelope: Envelope = { id: openAiId('chatcmpl'), created: nowSeconds(), model: record.id };
  if (body.stream === true)
    return generation.pipe(chatStream(envelope, body.stream_options?.include_usage === true));
  return exchange.reply.send(chatCompletion(envelope, await generation.collect(), body.logprobs === true));
}

/** The whole `chat.completion` object of a reply that is not streamed. */
function chatCompletion(envelope: Envelope, result: CollectedGeneration, withLogprobs: boolean) {
  const { content, calls } = result;
  return {
    ...envelope,
    object: 'chat.completion',
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
        logprobs: withLogprobs ? { content: chatLogprobs(result.logprobs), refusal: null } : null,
        finish_reason: chatFinish(result),
      },
    ],
    usage: usage(result.stats),
    timings: timings(result.stats),
  };
}

/** The chat completion stream: a role chunk, content deltas, tool-call deltas, the finish and usage. */
function chatStream(envelope: Envelope, includeUsage: boolean): StreamFormatter {
  const base = { ...envelope, object: 'chat.completion.chunk', system_fingerprint: 'fp_lodge' } as const;
  const chunk = (
    delta: ChatCompletionChunk['choices'][number]['delta'],
    finish: ChatFinishReason | null = null,
    logprobs?: readonly TokenLogprob[],
  ) => {
    const value: ChatCompletionChunk = {
      ...base,
      choices: [
        {
          index: 0,
          delta,
          logprobs: logprobs ? { content: chatLogprobs(logprobs), refusal: null } : null,
          finish_reason: finish,
        },
      ],
      ...(includeUsage ? { usage: null } : {}),
    };
    return sse(value);
  };
  return {
    contentType: 'text/event-stream; charset=utf-8',
    open: () => chunk({ role: 'assistant', content: '' }),
    text: (text, logprobs) => chunk({ content: text }, null, logprobs),
    finish: (end) => {
      let out = end.content !== '' ? chunk({ content: end.content }) : '';
      end.calls.forEach((call, index) => {
        const openAi = toOpenAiCall(call);
        out += chunk({
          tool_calls: [
            { index, id: openAi.id, type: 'function', function: { name: call.name, arguments: '' } },
          ],
        });
        out += chunk({ tool_calls: [{ index, function: { arguments: openAi.function.arguments } }] });
      });
      out += chunk({}, chatFinish(end));
      if (includeUsage) {
        const last: ChatCompletionChunk = {
          ...base,
          choices: [],
          usage: usage(end.stats),
          timings: timings(end.stats),
        };
        out += sse(last);
      }
      return `${out}data: [DONE]\n\n`;
    },
    error: (error) => sse(formatOpenAiError(error).body),
  };
}

function chatFinish(end: GenerationEnd): ChatFinishReason {
  return end.calls.length > 0 ? 'tool_calls' : finishReason(end.finishReason);
}

function toOpenAiCall(call: ToolCall) {
  return {
    id: openAiId('call'),
    type: 'function' as const,
    function: { name: call.name, arguments: JSON.stringify(call.arguments) },
  };
}
