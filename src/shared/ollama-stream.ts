import { z } from 'zod';

/** A tool call in an Ollama chat message: arguments as an object, not a JSON string. */
export const OllamaToolCallSchema = z.object({
  function: z.object({ name: z.string(), arguments: z.record(z.string(), z.unknown()) }),
});

/** The assistant's message (or its piece) in an `/api/chat` reply. */
export const OllamaMessageSchema = z.object({
  role: z.literal('assistant'),
  content: z.string(),
  tool_calls: z.array(OllamaToolCallSchema).optional(),
});

/** The figures on Ollama's last line: counts, and durations in whole nanoseconds. */
export const OllamaDoneFieldsSchema = z.object({
  done_reason: z.enum(['stop', 'length', 'load', 'unload']),
  total_duration: z.number().int().optional(),
  load_duration: z.number().int().optional(),
  prompt_eval_count: z.number().int().optional(),
  prompt_eval_duration: z.number().int().optional(),
  eval_count: z.number().int().optional(),
  eval_duration: z.number().int().optional(),
});

/** One NDJSON line of `POST /api/chat` (or its whole reply without streaming). */
export const OllamaChatLineSchema = z.object({
  model: z.string(),
  created_at: z.string(),
  message: OllamaMessageSchema,
  done: z.boolean(),
  ...OllamaDoneFieldsSchema.partial().shape,
});

/** A failure, as a reply body or as a line once the stream began. */
export const OllamaErrorSchema = z.object({ error: z.string() });

/** What one line of an `/api/chat` stream holds. */
export const OllamaChatStreamLineSchema = z.union([OllamaErrorSchema, OllamaChatLineSchema]);

/** Parsed form of {@link OllamaChatLineSchema}. */
export type OllamaChatLine = z.infer<typeof OllamaChatLineSchema>;
/** Parsed form of {@link OllamaDoneFieldsSchema}. */
export type OllamaDoneFields = z.infer<typeof OllamaDoneFieldsSchema>;
/** Parsed form of {@link OllamaMessageSchema}. */
export type OllamaMessage = z.infer<typeof OllamaMessageSchema>;
/** Parsed form of {@link OllamaChatStreamLineSchema}. */
export type OllamaChatStreamLine = z.infer<typeof OllamaChatStreamLineSchema>;
