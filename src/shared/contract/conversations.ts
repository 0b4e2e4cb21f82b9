import { z } from 'zod';

/** The sampling a chat runs with; absent fields fall back on the model's preset. */
export const ChatParamsSchema = z
  .object({
    temperature: z.number().min(0).max(2),
    topP: z.number().min(0).max(1),
    topK: z.number().int().min(0),
    minP: z.number().min(0).max(1),
    maxTokens: z.number().int().min(1),
    stop: z.array(z.string().min(1)).max(4),
    seed: z.number().int(),
  })
  .partial();

/** Figures of one answer. */
export const MessageStatsSchema = z.object({
  promptTokens: z.number(),
  completionTokens: z.number(),
  timeToFirstTokenMs: z.number(),
  tokensPerSecond: z.number(),
  finishReason: z.string(),
});

/** One message of a conversation. */
export const MessageSchema = z.object({
  role: z.enum(['user', 'assistant']),
  content: z.string().max(1_000_000),
  model: z.string().nullable(),
  stats: MessageStatsSchema.nullable(),
  createdAt: z.iso.datetime(),
  /** Images the user attached, as data URLs (png, jpeg, webp, gif), shown with the message and sent with it. */
  images: z
    .array(
      z
        .string()
        .max(12_000_000)
        .regex(/^data:image\/(png|jpeg|webp|gif);base64,/),
    )
    .max(4)
    .optional(),
});

/** Parsed form of {@link MessageSchema}. */
export type ChatMessageRecord = z.infer<typeof MessageSchema>;

/** A conversation without its messages. */
export const ConversationSchema = z.object({
  id: z.uuid(),
  title: z.string(),
  model: z.string(),
  systemPrompt: z.string(),
  params: ChatParamsSchema,
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  messageCount: z.number(),
});

/** Parsed form of {@link ConversationSchema}. */
export type Conversation = z.infer<typeof ConversationSchema>;

/** `GET /app/conversations/:id`. */
export const ConversationDetailSchema = ConversationSchema.extend({ messages: z.array(MessageSchema) });

/** `POST /app/conversations`. */
export const CreateConversationSchema = z.object({
  model: z.string().min(1).max(300),
  title: z.string().max(200).optional(),
  systemPrompt: z.string().max(100_000).optional(),
  params: ChatParamsSchema.optional(),
});

/** `PATCH /app/conversations/:id`. */
export const UpdateConversationSchema = z
  .object({
    title: z.string().min(1).max(200),
    model: z.string().min(1).max(300),
    systemPrompt: z.string().max(100_000),
    params: ChatParamsSchema,
  })
  .partial()
  .strict();

/** `PUT /app/conversations/:id/messages`: the whole message list (the UI edits, regenerates, appends). */
export const ReplaceMessagesSchema = z.object({
  messages: z
    .array(MessageSchema.omit({ createdAt: true }).extend({ createdAt: z.iso.datetime().optional() }))
    .max(10_000),
});

/** The path parameter of one conversation's routes. */
export const ConversationParamsSchema = z.object({ id: z.uuid() });
