import type { GenerateEvent, GenerateRequest } from '../../../shared/engine';
import { LodgeError } from '../errors';
import { finishOf, logprobsOf, openAiBody, StreamChunkSchema, ToolCallAssembly } from './openai-translation';
import { statusError, upstreamFailure, withRetry } from './upstream-failure';
import type { RemoteTimeouts } from './remote-engines';
import { sseData } from './sse-events';
import { readBounded, upstreamRequest, type UpstreamResponse } from './upstream-request';

/** The most an error answer of an engine is read. */
const MAX_ERROR_BYTES = 64 * 1024;

/** Where one engine is reached. */
export interface EngineConnection {
  readonly name: string;
  readonly host: string;
  readonly url: (path: string) => URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeouts: RemoteTimeouts;
}

/**
 * One generation on a remote engine: Lodge's request sent as an OpenAI streamed chat completion
 * (or completion, for a raw prompt), and its SSE chunks turned back into the engine's events, text
 * as it comes, tool calls assembled from their deltas and handed over on `done`, with the usage the
 * remote reported. A call that could not reach the engine is sent once more, since nothing came
 * back; once text arrived, a failure is the stream's (cut off, broken) and is not retried. The
 * caller's signal cuts the upstream connection.
 */
export async function* streamGeneration(
  engine: EngineConnection,
  model: string,
  request: GenerateRequest,
  signal?: AbortSignal,
): AsyncGenerator<GenerateEvent> {
  const { path, body } = openAiBody(model, request);
  const started = performance.now();
  let response: UpstreamResponse;
  try {
    response = await withRetry(
      () =>
        upstreamRequest({
          method: 'POST',
          url: engine.url(path),
          headers: engine.headers,
          body: JSON.stringify(body),
          ...engine.timeouts,
          ...(signal ? { signal } : {}),
        }),
      signal,
    );
  } catch (error) {
    throw upstreamFailure(engine.name, error);
  }
  if (response.status !== 200) {
    const text = await readBounded(response.body, MAX_ERROR_BYTES, engine.host).catch(() => '');
    throw statusError(engine.name, model, response.status, text);
  }
  if (!response.contentType.startsWith('text/event-stream')) {
    response.body.destroy();
    throw new LodgeError(
      'upstream_failed',
      `The remote engine '${engine.name}' did not stream its answer (it sent ${response.contentType.slice(0, 60) || 'no content type'}).`,
    );
  }
  const calls = new ToolCallAssembly();
  let finish: string | null = null;
  let usage: { prompt: number; completion: number; cached: number } | null = null;
  let pieces = 0;
  let firstAt: number | null = null;
  let ended = false;
  try {
    for await (const data of sseData(response.body, engine.host)) {
      if (data.trim() === '[DONE]') {
        ended = true;
        break;
      }
      const chunk = StreamChunkSchema.safeParse(safeJson(data));
      if (!chunk.success)
        throw new LodgeError(
          'upstream_failed',
          `The remote engine '${engine.name}' sent a stream chunk Lodge cannot read.`,
        );
      const reported = chunk.data.usage;
      if (reported)
        usage = {
          prompt: reported.prompt_tokens ?? 0,
          completion: reported.completion_tokens ?? 0,
          cached: reported.prompt_tokens_details?.cached_tokens ?? 0,
        };
      for (const choice of chunk.data.choices ?? []) {
        const text = choice.delta?.content ?? choice.text ?? '';
        if (choice.delta?.tool_calls) calls.push(choice.delta.tool_calls);
        if (choice.finish_reason) finish = choice.finish_reason;
        const logprobs = logprobsOf(choice);
        if (text === '' && !logprobs) continue;
        firstAt ??= performance.now();
        pieces += 1;
        yield { type: 'text', text, tokens: 1, ...(logprobs ? { logprobs } : {}) };
      }
    }
  } catch (error) {
    throw upstreamFailure(engine.name, error);
  } finally {
    response.body.destroy();
  }
  if (!ended && finish === null)
    throw new LodgeError(
      'upstream_failed',
      `The remote engine '${engine.name}' cut its stream off before the end.`,
    );
  const now = performance.now();
  const first = firstAt ?? now;
  yield {
    type: 'done',
    finishReason: finishOf(finish),
    stats: {
      promptTokens: usage?.prompt ?? 0,
      cachedTokens: usage?.cached ?? 0,
      completionTokens: usage?.completion ?? pieces,
      prefillMs: first - started,
      decodeMs: now - first,
      timeToFirstTokenMs: first - started,
    },
    calls: calls.finish(),
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
