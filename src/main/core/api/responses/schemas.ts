import { z } from 'zod';
import { ARGUMENTS_BOUNDS, boundedJson, boundedJsonString, SCHEMA_BOUNDS } from '../json-bounds';

/** A content part as sent: its type decides what else it must hold (checked in `input.ts`). */
const PartSchema = z.looseObject({ type: z.string() });

/** Message content: a string, or parts (`input_text`, `output_text`; other kinds are refused). */
const ContentSchema = z.union([z.string(), z.array(PartSchema)]);

/** A message item; `type` may be left out (the SDK's "easy" input message). */
export const MessageItemSchema = z.looseObject({
  type: z.literal('message').optional(),
  id: z.string().optional(),
  role: z.enum(['user', 'assistant', 'system', 'developer']),
  content: ContentSchema,
  status: z.string().optional(),
});

/** A call the model made, sent back as history. */
export const FunctionCallItemSchema = z.looseObject({
  type: z.literal('function_call'),
  id: z.string().optional(),
  call_id: z.string().min(1),
  name: z.string().min(1),
  arguments: boundedJsonString(ARGUMENTS_BOUNDS),
  status: z.string().optional(),
});

/** The result of a call, for the model to read. */
export const FunctionCallOutputItemSchema = z.looseObject({
  type: z.literal('function_call_output'),
  id: z.string().optional(),
  call_id: z.string().min(1),
  output: ContentSchema,
  status: z.string().optional(),
});

/** Parsed input items, one per kind Lodge understands. */
export type MessageItem = z.infer<typeof MessageItemSchema>;
/** Parsed form of {@link FunctionCallItemSchema}. */
export type FunctionCallItem = z.infer<typeof FunctionCallItemSchema>;
/** Parsed form of {@link FunctionCallOutputItemSchema}. */
export type FunctionCallOutputItem = z.infer<typeof FunctionCallOutputItemSchema>;
/** Any input item Lodge understands. */
export type InputItem = MessageItem | FunctionCallItem | FunctionCallOutputItem;

/** A tool as sent: function tools are checked in full; any other type is refused by name. */
const ToolSchema = z.looseObject({
  type: z.string(),
  name: z.string().optional(),
  description: z.string().nullable().optional(),
  parameters: boundedJson(SCHEMA_BOUNDS, z.record(z.string(), z.unknown())).nullable().optional(),
  strict: z.boolean().nullable().optional(),
});

const ToolChoiceSchema = z.union([
  z.enum(['none', 'auto', 'required']),
  z.looseObject({ type: z.string(), name: z.string().optional() }),
]);

/**
 * `POST /v1/responses` request. Items are kept loose here and checked one by one, so that an
 * error names the item and the field; unknown fields are ignored, as OpenAI's API does.
 */
export const CreateResponseRequestSchema = z.looseObject({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.looseObject({ type: z.string().optional() })).min(1)]),
  instructions: z.string().nullable().optional(),
  tools: z.array(ToolSchema).max(128).nullable().optional(),
  tool_choice: ToolChoiceSchema.nullable().optional(),
  parallel_tool_calls: z.boolean().nullable().optional(),
  previous_response_id: z.string().min(1).nullable().optional(),
  store: z.boolean().nullable().optional(),
  max_output_tokens: z.number().int().min(1).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  stream: z.boolean().nullable().optional(),
  text: boundedJson(
    SCHEMA_BOUNDS,
    z.looseObject({
      format: z.looseObject({ type: z.string() }).optional(),
      verbosity: z.string().nullable().optional(),
    }),
  )
    .nullable()
    .optional(),
  metadata: z
    .record(z.string().max(64), z.string().max(512))
    .refine((entries) => Object.keys(entries).length <= 16, 'Must have at most 16 keys.')
    .nullable()
    .optional(),
  background: z.boolean().nullable().optional(),
  user: z.string().optional(),
});

/** Parsed form of {@link CreateResponseRequestSchema}. */
export type CreateResponseRequest = z.infer<typeof CreateResponseRequestSchema>;

/** `GET /v1/responses/{id}/input_items` query: a cursor page, as OpenAI's lists are. */
export const InputItemsQuerySchema = z.looseObject({
  after: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(100).optional(),
  order: z.enum(['asc', 'desc']).optional(),
});

/** The `{id}` of the routes that read one stored response. */
export const ResponseParamsSchema = z.object({ id: z.string().min(1) });
