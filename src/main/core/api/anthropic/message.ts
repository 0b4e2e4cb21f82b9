import type { GenerationStats } from '../../../../shared/engine';
import type { Engine } from '../../engine/engine';
import type { CollectedGeneration, GenerationEnd, StreamFormatter } from '../responder/formatter';
import { startGeneration, type Exchange } from '../responder/generation';
import type { ToolCall } from '../tool-calls';
import { anthropicErrorBody } from './errors';
import { anthropicId, generateRequest, offeredToolNames } from './request';
import type { MessagesRequest } from './schemas';

/** Why a message ended, in Anthropic's words. */
type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use';

/** What every reply of one message carries. */
interface Envelope {
  readonly id: string;
  readonly model: string;
  /** The client's stop sequences: only these are reported as `stop_sequence`. */
  readonly stops: readonly string[];
}

/** `POST /v1/messages`, streamed (Anthropic's SSE events) or not, with tool use. */
export async function createMessage(
  engine: Engine,
  body: MessagesRequest,
  exchange: Exchange,
): Promise<unknown> {
  const { record } = engine.resolve(body.model);
  const request = generateRequest(body, record);
  const generation = await startGeneration(engine, exchange, {
    model: body.model,
    request,
    tools: offeredToolNames(request.prompt),
  });
  const envelope: Envelope = { id: anthropicId('msg'), model: record.id, stops: request.stop };
  if (body.stream === true) return generation.pipe(messageStream(envelope));
  return exchange.reply.send(messageBody(envelope, await generation.collect()));
}

/** The whole `message` object of a reply that is not streamed. */
function messageBody(envelope: Envelope, result: CollectedGeneration) {
  const content = [
    ...(result.content !== '' ? [{ type: 'text' as const, text: result.content }] : []),
    ...result.calls.map(toolUseBlock),
  ];
  const { reason, sequence } = stopOf(envelope, result);
  return {
    id: envelope.id,
    type: 'message',
    role: 'assistant',
    model: envelope.model,
    content,
    stop_reason: reason,
    stop_sequence: sequence,
    usage: usage(result.stats),
  };
}

/**
 * The message stream: `message_start`, a text block opened with the first text, each tool call as
 * a `tool_use` block with its input as `input_json_delta`, then `message_delta` and `message_stop`.
 */
function messageStream(envelope: Envelope): StreamFormatter {
  let blocks = 0;
  let textOpen = false;
  const textDelta = (text: string) => {
    let out = '';
    if (!textOpen) {
      textOpen = true;
      blocks++;
      out += event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
    }
    return out + event('content_block_delta', { index: 0, delta: { type: 'text_delta', text } });
  };
  return {
    contentType: 'text/event-stream; charset=utf-8',
    open: (start) =>
      event('message_start', {
        message: {
          id: envelope.id,
          type: 'message',
          role: 'assistant',
          model: envelope.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: {
            input_tokens: start.promptTokens - start.cachedTokens,
            cache_read_input_tokens: start.cachedTokens,
            output_tokens: 0,
          },
        },
      }) + event('ping', {}),
    text: (text) => (text === '' ? '' : textDelta(text)),
    finish: (end) => {
      let out = end.content !== '' ? textDelta(end.content) : '';
      if (textOpen) out += event('content_block_stop', { index: 0 });
      for (const call of end.calls) {
        const index = blocks++;
        const { id, name, input } = toolUseBlock(call);
        out += event('content_block_start', {
          index,
          content_block: { type: 'tool_use', id, name, input: {} },
        });
        out += event('content_block_delta', {
          index,
          delta: { type: 'input_json_delta', partial_json: JSON.stringify(input) },
        });
        out += event('content_block_stop', { index });
      }
      const { reason, sequence } = stopOf(envelope, end);
      out += event('message_delta', {
        delta: { stop_reason: reason, stop_sequence: sequence },
        usage: usage(end.stats),
      });
      return out + event('message_stop', {});
    },
    error: (error) => `event: error\ndata: ${JSON.stringify(anthropicErrorBody(error))}\n\n`,
  };
}

/** One SSE event of Anthropic's stream: its type named twice, as the event and in the data. */
function event(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

function toolUseBlock(call: ToolCall) {
  return { type: 'tool_use' as const, id: anthropicId('toolu'), name: call.name, input: call.arguments };
}

function stopOf(envelope: Envelope, end: GenerationEnd): { reason: StopReason; sequence: string | null } {
  if (end.calls.length > 0) return { reason: 'tool_use', sequence: null };
  if (end.finishReason === 'length') return { reason: 'max_tokens', sequence: null };
  if (end.stopSequence !== null && envelope.stops.includes(end.stopSequence))
    return { reason: 'stop_sequence', sequence: end.stopSequence };
  return { reason: 'end_turn', sequence: null };
}

/**
 * Usage as Anthropic counts it: `input_tokens` are the prompt tokens computed for this request,
 * `cache_read_input_tokens` those whose KV cache was reused, so the prompt is their sum.
 */
function usage(stats: GenerationStats) {
  return {
    input_tokens: stats.promptTokens - stats.cachedTokens,
    cache_read_input_tokens: stats.cachedTokens,
    output_tokens: stats.completionTokens,
  };
}
