import { z } from 'zod';
import type {
  ChatMessage,
  ContentPart,
  FinishReason,
  GenerateRequest,
  SamplingOptions,
  TokenLogprob,
} from '../../../shared/engine';
import type { GrammarSpec } from '../../../shared/grammar';
import { imageFormat } from '../api/image-input';

/**
 * Lodge's generation request as the body of an OpenAI `POST /chat/completions` (a chat prompt) or
 * `POST /completions` (a raw prompt), streamed with usage. Sampling fields OpenAI's API lacks
 * (top_k, min_p, repetition_penalty, which vLLM, llama-server and Lodge accept) are sent only when
 * they are not neutral, so a strict server is not handed fields it refuses for nothing.
 */
export function openAiBody(model: string, request: GenerateRequest): { path: string; body: unknown } {
  const common = {
    model,
    stream: true,
    stream_options: { include_usage: true },
    ...(request.maxTokens !== undefined ? { max_tokens: request.maxTokens } : {}),
    ...(request.stop.length > 0 ? { stop: request.stop } : {}),
    ...samplingFields(request.sampling),
    ...(request.logprobs !== undefined ? { logprobs: true, top_logprobs: request.logprobs } : {}),
  };
  const { prompt } = request;
  if (prompt.kind === 'text') return { path: 'completions', body: { ...common, prompt: prompt.text } };
  return {
    path: 'chat/completions',
    body: {
      ...common,
      messages: prompt.messages.map(openAiMessage),
      ...(prompt.tools && prompt.tools.length > 0 ? { tools: prompt.tools } : {}),
      ...grammarFields(request.grammar),
    },
  };
}

function samplingFields(sampling: SamplingOptions): Record<string, unknown> {
  return {
    temperature: sampling.temperature,
    top_p: sampling.topP,
    ...(sampling.topK > 0 ? { top_k: sampling.topK } : {}),
    ...(sampling.minP > 0 ? { min_p: sampling.minP } : {}),
    ...(sampling.repetitionPenalty !== 1 ? { repetition_penalty: sampling.repetitionPenalty } : {}),
    ...(sampling.presencePenalty !== 0 ? { presence_penalty: sampling.presencePenalty } : {}),
    ...(sampling.frequencyPenalty !== 0 ? { frequency_penalty: sampling.frequencyPenalty } : {}),
    ...(sampling.seed !== undefined ? { seed: sampling.seed } : {}),
    ...(sampling.logitBias ? { logit_bias: sampling.logitBias } : {}),
  };
}

/** A grammar the family built back into the OpenAI fields it came from (forced calls, JSON output). */
function grammarFields(grammar: GrammarSpec | undefined): Record<string, unknown> {
  if (grammar === undefined) return {};
  if (grammar.kind === 'json') return { response_format: { type: 'json_object' } };
  if (grammar.kind === 'json_schema')
    return {
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'output', schema: grammar.schema, strict: grammar.strict },
      },
    };
  return {
    tool_choice:
      grammar.mode === 'required' ? 'required' : { type: 'function', function: { name: grammar.mode.name } },
    ...(grammar.parallel === false ? { parallel_tool_calls: false } : {}),
  };
}

/**
 * A template message as OpenAI's wire carries it: tool-call arguments as JSON text, and a message
 * with images as content parts in their order, each image a `data:image/<format>;base64,` URL.
 */
function openAiMessage(message: ChatMessage): Record<string, unknown> {
  return {
    role: message.role,
    content: message.parts?.some((part) => part.type === 'image')
      ? message.parts.map(openAiPart)
      : message.content,
    ...(message.name !== undefined ? { name: message.name } : {}),
    ...(message.tool_call_id !== undefined ? { tool_call_id: message.tool_call_id } : {}),
    ...(message.tool_calls !== undefined
      ? {
          tool_calls: message.tool_calls.map((call, index) => ({
            id: call.id ?? `call_${index}`,
            type: 'function',
            function: {
              name: call.function.name,
              arguments:
                typeof call.function.arguments === 'string'
                  ? call.function.arguments
                  : JSON.stringify(call.function.arguments ?? {}),
            },
          })),
        }
      : {}),
  };
}

function openAiPart(part: ContentPart): Record<string, unknown> {
  if (part.type === 'text') return { type: 'text', text: part.text };
  // Every image was checked to be one of the formats imageFormat names when the request came in.
  const url = `data:image/${imageFormat(part.image) ?? 'png'};base64,${Buffer.from(part.image).toString('base64')}`;
  return { type: 'image_url', image_url: { url } };
}

const ToolCallDeltaSchema = z.looseObject({
  index: z.number().int().min(0).max(127).optional(),
  id: z.string().nullish(),
  function: z.looseObject({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish(),
});

/** One streamed chunk of a chat completion or a completion, with only the fields Lodge reads. */
export const StreamChunkSchema = z.looseObject({
  choices: z
    .array(
      z.looseObject({
        delta: z
          .looseObject({
            content: z.string().nullish(),
            tool_calls: z.array(ToolCallDeltaSchema).nullish(),
          })
          .nullish(),
        text: z.string().nullish(),
        finish_reason: z.string().nullish(),
        logprobs: z
          .looseObject({
            content: z
              .array(
                z.looseObject({
                  token: z.string(),
                  logprob: z.number(),
                  top_logprobs: z.array(z.looseObject({ token: z.string(), logprob: z.number() })).nullish(),
                }),
              )
              .nullish(),
          })
          .nullish(),
      }),
    )
    .nullish(),
  usage: z
    .looseObject({
      prompt_tokens: z.number().int().min(0).nullish(),
      completion_tokens: z.number().int().min(0).nullish(),
      prompt_tokens_details: z.looseObject({ cached_tokens: z.number().int().min(0).nullish() }).nullish(),
    })
    .nullish(),
});

/** Parsed form of {@link StreamChunkSchema}. */
export type StreamChunk = z.infer<typeof StreamChunkSchema>;

/** An OpenAI error body (`{error: {message}}`), or Ollama's (`{error: "…"}`). */
export const ErrorBodySchema = z.looseObject({
  error: z.union([z.string(), z.looseObject({ message: z.string().nullish() })]),
});

/** What an upstream's error body says, cut to a readable length; empty when it says nothing usable. */
export function upstreamErrorText(text: string): string {
  try {
    const parsed = ErrorBodySchema.safeParse(JSON.parse(text));
    if (!parsed.success) return '';
    const message = typeof parsed.data.error === 'string' ? parsed.data.error : parsed.data.error.message;
    return (message ?? '').slice(0, 500);
  } catch {
    return '';
  }
}

/** An upstream's finish reason in Lodge's words (`tool_calls` and `content_filter` ended it: stop). */
export function finishOf(reason: string | null | undefined): FinishReason {
  return reason === 'length' ? 'length' : 'stop';
}

/** Tool calls assembled from their streamed deltas, by index. */
export class ToolCallAssembly {
  readonly #calls = new Map<number, { name: string; arguments: string }>();

  /** Adds one chunk's deltas. */
  push(deltas: readonly z.infer<typeof ToolCallDeltaSchema>[]): void {
    for (const delta of deltas) {
      const index = delta.index ?? 0;
      const call = this.#calls.get(index) ?? { name: '', arguments: '' };
      call.name += delta.function?.name ?? '';
      call.arguments += delta.function?.arguments ?? '';
      this.#calls.set(index, call);
    }
  }

  /** The calls in index order, arguments parsed (an object; anything else is kept under `value`). */
  finish(): { name: string; arguments: Record<string, unknown> }[] {
    return [...this.#calls.entries()]
      .sort(([a], [b]) => a - b)
      .filter(([, call]) => call.name !== '')
      .map(([, call]) => ({ name: call.name, arguments: parsedArguments(call.arguments) }));
  }
}

function parsedArguments(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : { value };
  } catch {
    return { value: text };
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A chunk's token logprobs in Lodge's words; undefined when it carried none. */
export function logprobsOf(choice: NonNullable<StreamChunk['choices']>[number]): TokenLogprob[] | undefined {
  const content = choice.logprobs?.content;
  if (!content || content.length === 0) return undefined;
  return content.map((entry) => ({
    token: entry.token,
    logprob: entry.logprob,
    top: (entry.top_logprobs ?? []).map((top) => ({ token: top.token, logprob: top.logprob })),
  }));
}
