import { z } from 'zod';
import { ARGUMENTS_BOUNDS, boundedJson, boundedJsonString, SCHEMA_BOUNDS } from '../json-bounds';

/** The most tokens one request may bias (OpenAI's own limit is of this order). */
const MAX_LOGIT_BIAS = 1024;

const AnyPart = z.looseObject({ type: z.string() });

/** Message content: a string, or parts (text only; other kinds are refused with the param named). */
export const ContentSchema = z
  .union([z.string(), z.array(AnyPart)])
  .nullable()
  .optional();

const ToolCallSchema = z.object({
  id: z.string().optional(),
  type: z.literal('function').optional(),
  function: z.object({ name: z.string(), arguments: boundedJsonString(ARGUMENTS_BOUNDS) }),
});

/** One chat message. */
export const ChatMessageSchema = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: ContentSchema,
  name: z.string().optional(),
  tool_calls: z.array(ToolCallSchema).optional(),
  tool_call_id: z.string().optional(),
});

const StopSchema = z
  .union([z.string(), z.array(z.string()).max(4)])
  .nullable()
  .optional();

/** Sampling parameters shared by chat completions and completions, OpenAI's ranges. */
const SamplingFields = {
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  // Extensions common to local servers (LM Studio, vLLM, llama.cpp):
  top_k: z.number().int().min(0).nullable().optional(),
  min_p: z.number().min(0).max(1).nullable().optional(),
  repetition_penalty: z.number().min(0.01).max(10).nullable().optional(),
  presence_penalty: z.number().min(-2).max(2).nullable().optional(),
  frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
  // Token ids as keys; counted before each entry is checked, so a huge map costs one look.
  logit_bias: z
    .custom<Record<string, unknown>>(
      (value) =>
        typeof value === 'object' &&
        value !== null &&
        !Array.isArray(value) &&
        Object.keys(value).length <= MAX_LOGIT_BIAS,
      { message: `logit_bias must be an object of at most ${MAX_LOGIT_BIAS} token ids` },
    )
    .pipe(
      z.record(z.string().regex(/^\d{1,9}$/, 'logit_bias keys are token ids'), z.number().min(-100).max(100)),
    )
    .nullable()
    .optional(),
  seed: z.number().int().nullable().optional(),
  stop: StopSchema,
  n: z.number().int().min(1).max(128).nullable().optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
};

/** `POST /v1/chat/completions` request. Unknown fields are ignored, as the spec asks. */
export const ChatCompletionRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(ChatMessageSchema).min(1),
  max_tokens: z.number().int().min(1).nullable().optional(),
  max_completion_tokens: z.number().int().min(1).nullable().optional(),
  logprobs: z.boolean().nullable().optional(),
  top_logprobs: z.number().int().min(0).max(20).nullable().optional(),
  response_format: boundedJson(
    SCHEMA_BOUNDS,
    z.looseObject({ type: z.enum(['text', 'json_object', 'json_schema']) }),
  )
    .nullable()
    .optional(),
  tools: z
    .array(
      z.object({
        type: z.literal('function'),
        function: z.looseObject({
          name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/),
          description: z.string().optional(),
          parameters: boundedJson(SCHEMA_BOUNDS, z.record(z.string(), z.unknown())).optional(),
        }),
      }),
    )
    .nullable()
    .optional(),
  tool_choice: z
    .union([
      z.enum(['none', 'auto', 'required']),
      z.object({ type: z.literal('function'), function: z.object({ name: z.string() }) }),
    ])
    .nullable()
    .optional(),
  parallel_tool_calls: z.boolean().nullable().optional(),
  ...SamplingFields,
});

/** Parsed form of {@link ChatCompletionRequestSchema}. */
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequestSchema>;

/** `POST /v1/completions` request (legacy). */
export const CompletionRequestSchema = z.looseObject({
  model: z.string().min(1),
  prompt: z.union([z.string(), z.array(z.string()).length(1)]),
  max_tokens: z.number().int().min(1).nullable().optional(),
  logprobs: z.number().int().min(0).max(5).nullable().optional(),
  echo: z.boolean().nullable().optional(),
  suffix: z.string().nullable().optional(),
  best_of: z.number().int().min(1).max(1).nullable().optional(),
  ...SamplingFields,
});

/** Parsed form of {@link CompletionRequestSchema}. */
export type CompletionRequest = z.infer<typeof CompletionRequestSchema>;

/** `POST /v1/embeddings` request. */
export const EmbeddingRequestSchema = z.looseObject({
  model: z.string().min(1),
  input: z.union([
    z.string(),
    z.array(z.string()).min(1).max(2048),
    z.array(z.number()),
    z.array(z.array(z.number())),
  ]),
  encoding_format: z.enum(['float', 'base64']).nullable().optional(),
  dimensions: z.number().int().min(1).nullable().optional(),
});

/** Parsed form of {@link EmbeddingRequestSchema}. */
export type EmbeddingRequest = z.infer<typeof EmbeddingRequestSchema>;
