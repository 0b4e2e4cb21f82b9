import type { ChatParamsSchema } from '../../../shared/contract/conversations';
import type { z } from 'zod';
import type { ApiClient } from '../../lib/api-client';
import {
  ChatStreamEventSchema,
  OpenAiErrorBodySchema,
  type CompletionUsage,
} from '../../../shared/openai-stream';
import { serverSentEvents } from '../../../shared/sse';

/** A message of a chat request: text, or text and image parts. */
export interface ChatRequestMessage {
  readonly role: string;
  readonly content:
    | string
    | readonly (
        | { readonly type: 'text'; readonly text: string }
        | { readonly type: 'image_url'; readonly image_url: { readonly url: string } }
      )[];
}

/** What one streamed answer came to. */
export interface StreamedAnswer {
  readonly text: string;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly timeToFirstTokenMs: number;
  readonly tokensPerSecond: number;
  /** OpenAI's finish reason, or "stopped" when the signal aborted it. */
  readonly finishReason: string;
}

/**
 * Streams one chat answer over Lodge's OpenAI-compatible API (the UI uses the public contract),
 * calling `onText` with the text so far. Rejects with the server's message on failure; an abort
 * resolves with what arrived, marked "stopped".
 */
export async function streamChat(
  api: ApiClient,
  request: {
    model: string;
    messages: readonly ChatRequestMessage[];
    params: z.infer<typeof ChatParamsSchema>;
  },
  signal: AbortSignal,
  onText: (text: string) => void,
): Promise<StreamedAnswer> {
  const { params } = request;
  const started = performance.now();
  let firstTokenAt: number | null = null;
  let usage: Pick<CompletionUsage, 'prompt_tokens' | 'completion_tokens'> = {
    prompt_tokens: 0,
    completion_tokens: 0,
  };
  /** Decode speed by the engine's clock; the stream's own timing measures network delivery. */
  let engineSpeed: number | null = null;
  let finish = 'stop';
  let text = '';
  try {
    const response = await api.post(
      '/v1/chat/completions',
      {
        model: request.model,
        messages: request.messages,
        stream: true,
        stream_options: { include_usage: true },
        ...(params.temperature !== undefined ? { temperature: params.temperature } : {}),
        ...(params.topP !== undefined ? { top_p: params.topP } : {}),
        ...(params.topK !== undefined ? { top_k: params.topK } : {}),
        ...(params.minP !== undefined ? { min_p: params.minP } : {}),
        ...(params.maxTokens !== undefined ? { max_tokens: params.maxTokens } : {}),
        ...(params.stop && params.stop.length > 0 ? { stop: params.stop } : {}),
        ...(params.seed !== undefined ? { seed: params.seed } : {}),
      },
      signal,
    );
    if (!response.ok) {
      const body = OpenAiErrorBodySchema.safeParse(await response.json().catch(() => null));
      throw new Error(body.success ? body.data.error.message : `Lodge answered ${response.status}.`);
    }
    if (!response.body) throw new Error('Lodge answered without a stream.');
    for await (const { data } of serverSentEvents(response.body)) {
      if (data === '[DONE]') continue;
      const event = ChatStreamEventSchema.parse(JSON.parse(data));
      if ('error' in event) throw new Error(event.error.message);
      if (event.usage) usage = event.usage;
      if (typeof event.timings?.predicted_per_second === 'number')
        engineSpeed = event.timings.predicted_per_second;
      const choice = event.choices[0];
      if (choice?.delta.content) {
        firstTokenAt ??= performance.now();
        text += choice.delta.content;
        onText(text);
      }
      if (choice?.finish_reason) finish = choice.finish_reason;
    }
  } catch (error) {
    if (!signal.aborted) throw error;
    finish = 'stopped';
  }
  const ended = performance.now();
  return {
    text,
    promptTokens: usage.prompt_tokens,
    completionTokens: usage.completion_tokens,
    timeToFirstTokenMs: (firstTokenAt ?? ended) - started,
    tokensPerSecond:
      engineSpeed ??
      (firstTokenAt !== null && usage.completion_tokens > 1
        ? ((usage.completion_tokens - 1) / (ended - firstTokenAt)) * 1000
        : 0),
    finishReason: finish,
  };
}
