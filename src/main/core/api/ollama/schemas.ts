import { z } from 'zod';
import { ARGUMENTS_BOUNDS, boundedJson, PARAMETERS_BOUNDS, SCHEMA_BOUNDS } from '../json-bounds';

/** Ollama's options: the ones Lodge maps; any other key (mirostat, num_gpu, …) is accepted and ignored. */
export const OptionsSchema = z
  .looseObject({
    temperature: z.number().min(0).optional(),
    top_k: z.number().int().optional(),
    top_p: z.number().min(0).max(1).optional(),
    min_p: z.number().min(0).max(1).optional(),
    num_predict: z.number().int().optional(),
    num_ctx: z.number().int().positive().optional(),
    stop: z.array(z.string()).optional(),
    seed: z.number().int().optional(),
    repeat_penalty: z.number().positive().optional(),
    repeat_last_n: z.number().int().optional(),
    presence_penalty: z.number().optional(),
    frequency_penalty: z.number().optional(),
  })
  .optional();

/** `keep_alive`: seconds, or a duration such as "5m", "1h30m", "0", "-1". */
export const KeepAliveSchema = z.union([z.number(), z.string()]).optional();

const ToolCallSchema = z.looseObject({
  function: z.looseObject({ name: z.string(), arguments: boundedJson(ARGUMENTS_BOUNDS) }),
});

/** One chat message. */
export const MessageSchema = z.looseObject({
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.string().optional().default(''),
  images: z.array(z.string()).optional(),
  tool_calls: z.array(ToolCallSchema).optional(),
  tool_name: z.string().optional(),
  tool_call_id: z.string().optional(),
});

const ToolSchema = z.looseObject({
  type: z.literal('function'),
  function: z.looseObject({
    name: z.string(),
    description: z.string().optional(),
    parameters: boundedJson(SCHEMA_BOUNDS).optional(),
  }),
});

const common = {
  model: z.string().optional(),
  name: z.string().optional(),
  format: boundedJson(SCHEMA_BOUNDS).optional(),
  options: OptionsSchema,
  stream: z.boolean().optional(),
  keep_alive: KeepAliveSchema,
  think: boundedJson(PARAMETERS_BOUNDS).optional(),
};

/** `POST /api/chat`. */
export const ChatSchema = z.looseObject({
  ...common,
  messages: z.array(MessageSchema).optional().default([]),
  tools: z.array(ToolSchema).optional(),
});

/** `POST /api/generate`. */
export const GenerateSchema = z.looseObject({
  ...common,
  prompt: z.string().optional().default(''),
  system: z.string().optional(),
  raw: z.boolean().optional(),
  suffix: z.string().optional(),
  images: z.array(z.string()).optional(),
  context: z.array(z.number()).optional(),
});

/** `POST /api/embed`. */
export const EmbedSchema = z.looseObject({
  model: z.string().optional(),
  name: z.string().optional(),
  input: z.union([z.string(), z.array(z.string())]),
  truncate: z.boolean().optional(),
  dimensions: z.number().int().positive().optional(),
  keep_alive: KeepAliveSchema,
  options: OptionsSchema,
});

/** `POST /api/embeddings` (legacy). */
export const LegacyEmbeddingsSchema = z.looseObject({
  model: z.string().optional(),
  name: z.string().optional(),
  prompt: z.string(),
  keep_alive: KeepAliveSchema,
  options: OptionsSchema,
});

/** Requests naming one model: show, delete, pull. */
export const ModelNameSchema = z.looseObject({
  model: z.string().optional(),
  name: z.string().optional(),
  verbose: z.boolean().optional(),
  stream: z.boolean().optional(),
});

/** `POST /api/copy`. */
export const CopySchema = z.object({ source: z.string().min(1), destination: z.string().min(1) });
