import { z } from 'zod';

/** The token counts of one generation, OpenAI's `usage` object. */
export const CompletionUsageSchema = z.object({
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
  prompt_tokens_details: z.object({ cached_tokens: z.number().int() }),
});

/**
 * The engine's clock for one generation, beside `usage` (llama.cpp's server reports the same):
 * a client timing the stream measures delivery, which batches tokens into network reads.
 */
export const GenerationTimingsSchema = z.object({
  prompt_n: z.number().int(),
  prompt_ms: z.number(),
  predicted_n: z.number().int(),
  predicted_ms: z.number(),
  predicted_per_second: z.number().nullable(),
});

/** One scored token of chat logprobs, with its alternatives. */
export const ChatLogprobSchema = z.object({
  token: z.string(),
  logprob: z.number(),
  bytes: z.array(z.number().int()),
  top_logprobs: z.array(
    z.object({ token: z.string(), logprob: z.number(), bytes: z.array(z.number().int()) }),
  ),
});

/** A tool call as a chat stream delivers it: the name in one chunk, the arguments in the next. */
export const ToolCallDeltaSchema = z.object({
  index: z.number().int(),
  id: z.string().optional(),
  type: z.literal('function').optional(),
  function: z.object({ name: z.string().optional(), arguments: z.string() }),
});

/** Why a chat answer ended, in OpenAI's words. */
export const ChatFinishReasonSchema = z.enum(['stop', 'length', 'tool_calls']);

/** One `chat.completion.chunk` of `POST /v1/chat/completions` with `stream: true`. */
export const ChatCompletionChunkSchema = z.object({
  id: z.string(),
  object: z.literal('chat.completion.chunk'),
  created: z.number().int(),
  model: z.string(),
  system_fingerprint: z.string(),
  choices: z.array(
    z.object({
      index: z.number().int(),
      delta: z.object({
        role: z.literal('assistant').optional(),
        content: z.string().optional(),
        tool_calls: z.array(ToolCallDeltaSchema).optional(),
      }),
      logprobs: z.object({ content: z.array(ChatLogprobSchema), refusal: z.null() }).nullable(),
      finish_reason: ChatFinishReasonSchema.nullable(),
    }),
  ),
  /** With `stream_options.include_usage`: `null` on every chunk but the last, which has no choices. */
  usage: CompletionUsageSchema.nullable().optional(),
  timings: GenerationTimingsSchema.optional(),
});

/** OpenAI's error object, also sent as an SSE event when a stream fails after it began. */
export const OpenAiErrorBodySchema = z.object({
  error: z.object({
    message: z.string(),
    type: z.string(),
    param: z.string().nullable(),
    code: z.string().nullable(),
  }),
});

/** What one `data:` event of a chat completion stream holds (besides the final `[DONE]`). */
export const ChatStreamEventSchema = z.union([OpenAiErrorBodySchema, ChatCompletionChunkSchema]);

/** Parsed form of {@link ChatCompletionChunkSchema}. */
export type ChatCompletionChunk = z.infer<typeof ChatCompletionChunkSchema>;
/** Parsed form of {@link CompletionUsageSchema}. */
export type CompletionUsage = z.infer<typeof CompletionUsageSchema>;
/** Parsed form of {@link GenerationTimingsSchema}. */
export type GenerationTimings = z.infer<typeof GenerationTimingsSchema>;
/** Parsed form of {@link ChatLogprobSchema}. */
export type ChatLogprob = z.infer<typeof ChatLogprobSchema>;
/** Parsed form of {@link ChatFinishReasonSchema}. */
export type ChatFinishReason = z.infer<typeof ChatFinishReasonSchema>;
/** Parsed form of {@link OpenAiErrorBodySchema}. */
export type OpenAiErrorBody = z.infer<typeof OpenAiErrorBodySchema>;
/** Parsed form of {@link ChatStreamEventSchema}. */
export type ChatStreamEvent = z.infer<typeof ChatStreamEventSchema>;
