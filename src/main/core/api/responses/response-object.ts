import type { GenerationStats } from '../../../../shared/engine';
import type { GenerationEnd } from '../responder/formatter';
import type { ToolCall } from '../tool-calls';
import { responsesId } from './ids';
import type { EchoedTool, EchoedToolChoice } from './tools';

/** What every snapshot of one response repeats: its id, the request's settings as they apply. */
export type ResponseEnvelope = {
  readonly id: string;
  readonly created_at: number;
  readonly model: string;
  readonly instructions: string | null;
  readonly previous_response_id: string | null;
  readonly tools: readonly EchoedTool[];
  readonly tool_choice: EchoedToolChoice;
  readonly parallel_tool_calls: boolean;
  readonly temperature: number;
  readonly top_p: number;
  readonly max_output_tokens: number | null;
  readonly metadata: Readonly<Record<string, string>>;
  /** The output format as the request gave it: `{type: "text"}` unless it asked for JSON. */
  readonly text: { readonly format: Readonly<Record<string, unknown>> };
  readonly store: boolean;
  readonly user?: string;
};

/** Where a response stands. */
export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';

/** The text part of the assistant's message. */
export type OutputText = {
  readonly type: 'output_text';
  readonly text: string;
  readonly annotations: readonly never[];
  readonly logprobs: readonly never[];
};

/** The assistant's message: one text part. */
export type MessageOutput = {
  readonly type: 'message';
  readonly id: string;
  readonly role: 'assistant';
  readonly status: 'in_progress' | 'completed' | 'incomplete';
  readonly content: readonly OutputText[];
};

/** A call the model made to one of the request's functions; `arguments` is JSON text. */
export type FunctionCallOutput = {
  readonly type: 'function_call';
  readonly id: string;
  readonly call_id: string;
  readonly name: string;
  readonly arguments: string;
  readonly status: 'in_progress' | 'completed' | 'incomplete';
};

/** One item of a response's `output`. */
export type OutputItem = MessageOutput | FunctionCallOutput;

/** A response's token counts, in the Responses API's words. */
export type ResponseUsage = {
  readonly input_tokens: number;
  readonly input_tokens_details: { readonly cached_tokens: number };
  readonly output_tokens: number;
  readonly output_tokens_details: { readonly reasoning_tokens: number };
  readonly total_tokens: number;
};

/** The `response` object: what `POST /v1/responses` answers and its stream's lifecycle events carry. */
export type ResponseObject = ResponseEnvelope & {
  readonly object: 'response';
  readonly status: ResponseStatus;
  readonly completed_at: number | null;
  readonly error: { readonly code: 'server_error'; readonly message: string } | null;
  readonly incomplete_details: { readonly reason: 'max_output_tokens' } | null;
  readonly output: readonly OutputItem[];
  /** The text of the output's messages joined (the SDKs compute it too; curl users get it here). */
  readonly output_text: string;
  readonly truncation: 'disabled';
  readonly reasoning: { readonly effort: null; readonly summary: null };
  readonly background: false;
  readonly service_tier: 'default';
  readonly top_logprobs: 0;
  readonly usage: ResponseUsage | null;
};

/** How a response stands at one moment. */
export interface ResponseState {
  readonly status: ResponseStatus;
  readonly output: readonly OutputItem[];
  readonly stats?: GenerationStats;
  readonly error?: string;
}

/** The full response object for `envelope` in `state`. */
export function responseObject(envelope: ResponseEnvelope, state: ResponseState): ResponseObject {
  const finished = state.status === 'completed' || state.status === 'incomplete';
  return {
    ...envelope,
    object: 'response',
    status: state.status,
    completed_at: finished ? Math.floor(Date.now() / 1000) : null,
    error: state.error !== undefined ? { code: 'server_error', message: state.error } : null,
    incomplete_details: state.status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    output: state.output,
    output_text: state.output
      .flatMap((item) => (item.type === 'message' ? item.content.map((part) => part.text) : []))
      .join(''),
    truncation: 'disabled',
    reasoning: { effort: null, summary: null },
    background: false,
    service_tier: 'default',
    top_logprobs: 0,
    usage: state.stats ? responseUsage(state.stats) : null,
  };
}

/**
 * A finished generation's status: incomplete when it ran out of tokens (max_output_tokens or the
 * context window), even after a call, since what followed the call was cut off.
 */
export function endStatus(end: GenerationEnd): 'completed' | 'incomplete' {
  return end.finishReason === 'length' ? 'incomplete' : 'completed';
}

/** The assistant's message item. */
export function messageItem(id: string, text: string, status: MessageOutput['status']): MessageOutput {
  return {
    type: 'message',
    id,
    role: 'assistant',
    status,
    content: [{ type: 'output_text', text, annotations: [], logprobs: [] }],
  };
}

/** A function call item for a call the model made, with fresh ids. */
export function callItem(call: ToolCall): FunctionCallOutput {
  return {
    type: 'function_call',
    id: responsesId('fc'),
    call_id: responsesId('call'),
    name: call.name,
    arguments: JSON.stringify(call.arguments),
    status: 'completed',
  };
}

/**
 * A finished generation's output items: the message (left out when the model only made calls),
 * then one item per call; only the first call when the request set `parallel_tool_calls: false`.
 */
export function outputItems(
  messageId: string,
  end: GenerationEnd,
  text: string,
  parallel: boolean,
): OutputItem[] {
  const items: OutputItem[] = [];
  if (text !== '' || end.calls.length === 0)
    items.push(messageItem(messageId, text, endStatus(end) === 'incomplete' ? 'incomplete' : 'completed'));
  const calls = parallel ? end.calls : end.calls.slice(0, 1);
  return [...items, ...calls.map(callItem)];
}

function responseUsage(stats: GenerationStats): ResponseUsage {
  return {
    input_tokens: stats.promptTokens,
    input_tokens_details: { cached_tokens: stats.cachedTokens },
    output_tokens: stats.completionTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: stats.promptTokens + stats.completionTokens,
  };
}
