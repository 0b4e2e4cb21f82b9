import type { GenerationEnd, StreamFormatter } from '../responder/formatter';
import { responsesId } from './ids';
import {
  endStatus,
  messageItem,
  outputItems,
  responseObject,
  type OutputItem,
  type ResponseEnvelope,
  type ResponseObject,
} from './response-object';

/**
 * The Responses API's event stream over the generation responder. Every event is an SSE `event:`
 * line with its type and a `data:` line holding `type` and a `sequence_number` counted from 0:
 *
 * `response.created`, `response.in_progress`; for the message `response.output_item.added`,
 * `response.content_part.added`, `response.output_text.delta`…, `response.output_text.done`,
 * `response.content_part.done`, `response.output_item.done`; per function call
 * `response.output_item.added`, `response.function_call_arguments.delta` / `.done`,
 * `response.output_item.done`; then `response.completed` or `response.incomplete` with usage.
 * A failure once streaming began is `response.failed`, its response carrying the error.
 *
 * `keep` receives the finished response before its last events go out (to store it), so a
 * response a client saw complete is one `GET /v1/responses/{id}` finds.
 */
export function responseStream(
  envelope: ResponseEnvelope,
  keep: (response: ResponseObject, end: GenerationEnd) => void,
): StreamFormatter {
  const messageId = responsesId('msg');
  let sequence = 0;
  let streamed = '';
  let messageOpen = false;
  const event = (type: string, fields: Record<string, unknown>) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...fields })}\n\n`;
  const part = (text: string) => ({ type: 'output_text', text, annotations: [], logprobs: [] });
  const inMessage = { item_id: messageId, output_index: 0, content_index: 0 };
  const openMessage = () => {
    if (messageOpen) return '';
    messageOpen = true;
    return (
      event('response.output_item.added', {
        output_index: 0,
        item: { ...messageItem(messageId, '', 'in_progress'), content: [] },
      }) + event('response.content_part.added', { ...inMessage, part: part('') })
    );
  };
  const delta = (text: string) =>
    openMessage() + event('response.output_text.delta', { ...inMessage, delta: text, logprobs: [] });
  const itemEvents = (item: OutputItem, index: number) => {
    if (item.type === 'message') {
      const text = item.content.map((content) => content.text).join('');
      return (
        openMessage() +
        event('response.output_text.done', { ...inMessage, text, logprobs: [] }) +
        event('response.content_part.done', { ...inMessage, part: part(text) }) +
        event('response.output_item.done', { output_index: index, item })
      );
    }
    const inCall = { item_id: item.id, output_index: index };
    return (
      event('response.output_item.added', {
        output_index: index,
        item: { ...item, arguments: '', status: 'in_progress' },
      }) +
      event('response.function_call_arguments.delta', { ...inCall, delta: item.arguments }) +
      event('response.function_call_arguments.done', {
        ...inCall,
        name: item.name,
        arguments: item.arguments,
      }) +
      event('response.output_item.done', { output_index: index, item })
    );
  };
  return {
    contentType: 'text/event-stream; charset=utf-8',
    open: () => {
      const response = responseObject(envelope, { status: 'in_progress', output: [] });
      return event('response.created', { response }) + event('response.in_progress', { response });
    },
    text: (text) => {
      if (text === '') return '';
      streamed += text;
      return delta(text);
    },
    finish: (end) => {
      const text = streamed + end.content;
      const status = endStatus(end);
      const output = outputItems(messageId, end, text, envelope.parallel_tool_calls);
      const response = responseObject(envelope, { status, output, stats: end.stats });
      keep(response, end);
      const held = end.content !== '' ? delta(end.content) : '';
      return (
        held +
        output.map(itemEvents).join('') +
        event(status === 'completed' ? 'response.completed' : 'response.incomplete', { response })
      );
    },
    error: (error) => {
      const output = streamed !== '' ? [messageItem(messageId, streamed, 'incomplete')] : [];
      const response = responseObject(envelope, { status: 'failed', output, error: error.message });
      return event('response.failed', { response });
    },
  };
}
