import type { FinishReason, GenerationStats, TokenLogprob } from '../../../../shared/engine';
import type { LodgeError } from '../../errors';
import type { ToolCall } from '../tool-calls';

/** How a generation ended, as every API family reports it: its text, tool calls and figures. */
export interface GenerationEnd {
  /** The answer's text, tool-call markup taken out. */
  readonly content: string;
  /** The calls the model made to functions the request offered (none when it offered none). */
  readonly calls: readonly ToolCall[];
  readonly finishReason: FinishReason;
  /** The stop string that ended the output, when one did (the request's or the model's). */
  readonly stopSequence: string | null;
  readonly stats: GenerationStats;
  /** From the request starting the generation to its end, waiting for the model included. */
  readonly totalMs: number;
}

/** What is known when a stream opens: the prompt, prefilled. */
export interface GenerationStart {
  readonly promptTokens: number;
  /** Prompt tokens whose KV cache was reused from the previous request. */
  readonly cachedTokens: number;
}

/** A whole generation, for a reply that is not streamed. */
export interface CollectedGeneration extends GenerationEnd {
  /** The scored tokens, when the request asked for logprobs. */
  readonly logprobs: readonly TokenLogprob[];
}

/**
 * One API family's streamed wire format: each method returns the bytes to write (`''` writes
 * nothing). The responder ({@link Generation.pipe}) owns everything else — the headers, the
 * tool-call holdback, the client leaving, logging a failure — so a family is only this formatter
 * and a function that builds its non-streamed body from a {@link CollectedGeneration}.
 *
 * The order of calls is fixed: `open` once, `text` per visible piece, then `finish` once, or
 * `error` once if the generation fails after the headers went out. How the families map:
 * - OpenAI Chat Completions: `open` writes the role chunk, `text` a `delta.content` chunk,
 *   `finish` the held-back content, `tool_calls` deltas, the finish chunk, usage and `[DONE]`.
 * - Ollama `/api/chat`, `/api/generate`: `text` writes one NDJSON line, `finish` the held-back
 *   text and calls, then the `done: true` line with the durations.
 * - Anthropic Messages: `open` writes `message_start` (with the prompt's size), `text` a
 *   `content_block_delta` (the text block starts with the first text), `finish` the held-back
 *   text, `content_block_stop`, a `tool_use` block per call, `message_delta` (stop_reason, usage)
 *   and `message_stop`; `error` an `event: error`.
 * - OpenAI Responses (`api/responses/stream.ts`): `open` writes `response.created` and
 *   `response.in_progress`, `text` a `response.output_text.delta` (the message item opens with the
 *   first text), `finish` the held-back text, the `.done` events, an item per call with its
 *   argument events, and `response.completed` or `response.incomplete`; `error` `response.failed`.
 *
 * A family's handler then reads, e.g. for Anthropic Messages:
 * ```ts
 * const generation = await startGeneration(engine, exchange, { model, request, tools });
 * if (body.stream) return generation.pipe(messagesStream(envelope));
 * return exchange.reply.send(messageBody(envelope, await generation.collect()));
 * ```
 */
export interface StreamFormatter {
  /** The response's content type: `text/event-stream; charset=utf-8` or `application/x-ndjson`. */
  readonly contentType: string;
  /** What goes out before the first token; the prompt is prefilled by then. */
  open(start: GenerationStart): string;
  /**
   * A piece of visible text (never tool-call markup), with its logprobs when they were asked for;
   * the text is empty when a piece carried only logprobs (the rest was held back).
   */
  text(text: string, logprobs: readonly TokenLogprob[] | undefined): string;
  /** The end of a generation that finished. */
  finish(end: GenerationEnd): string;
  /** A failure once streaming began, in the family's error shape. */
  error(error: LodgeError): string;
}
