import { z } from 'zod';
import { ARGUMENTS_BOUNDS, boundedJson, SCHEMA_BOUNDS } from '../json-bounds';

/** A block inside a `tool_result`'s content: text, or a kind that is refused with its place named. */
const ResultBlockSchema = z.looseObject({ type: z.string(), text: z.string().optional() });

/**
 * One content block of a message. Every kind shares this one loose shape, and the fields each kind
 * needs are checked where the blocks become chat messages, so that an unsupported kind (an image)
 * gets a message naming it rather than a list of union mismatches.
 */
export const ContentBlockSchema = z.looseObject({
  type: z.string(),
  text: z.string().optional(),
  // tool_use (assistant):
  id: z.string().optional(),
  name: z.string().optional(),
  input: boundedJson(ARGUMENTS_BOUNDS).optional(),
  // tool_result (user):
  tool_use_id: z.string().optional(),
  content: z.union([z.string(), z.array(ResultBlockSchema)]).optional(),
  is_error: z.boolean().optional(),
});

/** One content block, parsed. */
export type ContentBlock = z.infer<typeof ContentBlockSchema>;

/** One turn of the conversation. */
export const MessageParamSchema = z.looseObject({
  role: z.enum(['user', 'assistant']),
  content: z.union([z.string(), z.array(ContentBlockSchema)]),
});

/** One turn, parsed. */
export type MessageParam = z.infer<typeof MessageParamSchema>;

const TextBlockSchema = z.looseObject({ type: z.literal('text'), text: z.string() });

/** A function the model may call (a client tool: name, description, JSON Schema of its input). */
export const ToolSchema = z.looseObject({
  type: z.string().optional(),
  name: z.string().regex(/^[a-zA-Z0-9_-]{1,128}$/),
  description: z.string().optional(),
  input_schema: boundedJson(SCHEMA_BOUNDS, z.record(z.string(), z.unknown())).optional(),
});

/** How the model may use the tools. */
export const ToolChoiceSchema = z.union([
  z.looseObject({
    type: z.enum(['auto', 'any', 'none']),
    disable_parallel_tool_use: z.boolean().optional(),
  }),
  z.looseObject({
    type: z.literal('tool'),
    name: z.string(),
    disable_parallel_tool_use: z.boolean().optional(),
  }),
]);

/** The fields a prompt is made of, shared by `/v1/messages` and `/v1/messages/count_tokens`. */
const PromptFields = {
  model: z.string().min(1),
  system: z.union([z.string(), z.array(TextBlockSchema)]).optional(),
  messages: z.array(MessageParamSchema).min(1),
  tools: z.array(ToolSchema).optional(),
  tool_choice: ToolChoiceSchema.optional(),
};

/** `POST /v1/messages` request. Unknown fields (`metadata`, `thinking`, …) are ignored. */
export const MessagesRequestSchema = z.looseObject({
  ...PromptFields,
  // Required, as Anthropic requires it.
  max_tokens: z.number().int().min(1),
  stop_sequences: z.array(z.string()).max(64).optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().min(0).optional(),
  stream: z.boolean().optional(),
  metadata: z.looseObject({}).optional(),
});

/** Parsed form of {@link MessagesRequestSchema}. */
export type MessagesRequest = z.infer<typeof MessagesRequestSchema>;

/** `POST /v1/messages/count_tokens` request: the prompt of a messages request. */
export const CountTokensRequestSchema = z.looseObject(PromptFields);

/** Parsed form of {@link CountTokensRequestSchema}. */
export type CountTokensRequest = z.infer<typeof CountTokensRequestSchema>;
