import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GenerateEvent, GenerateRequest, RouteNote, TokenLogprob } from '../../../../shared/engine';
import type { Engine } from '../../engine/engine';
import { isLodgeError, LodgeError } from '../../errors';
import { noteError, noteUsage } from '../request-log';
import { clientGone, openStream } from '../streaming';
import { parseToolCalls, ToolCallHoldback, type ToolCall } from '../tool-calls';
import type { CollectedGeneration, GenerationEnd, GenerationStart, StreamFormatter } from './formatter';
import { logStreamFailure } from './stream-failure';

/** What an API family asks the engine to generate, in the engine's words. */
export interface GenerationCall {
  /** The model name as the client gave it. */
  readonly model: string;
  readonly request: GenerateRequest;
  readonly keepAliveMs?: number | undefined;
  /**
   * The functions the request offered. When there are any, tool calls are parsed out of the text,
   * and held back while streaming so that call markup never reaches the client as content.
   */
  readonly tools?: ReadonlySet<string>;
}

/** Where the reply goes. */
export interface Exchange {
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
}

/**
 * Starts a generation for an HTTP request and waits for its first event, so that what fails before
 * any output (an unknown model, a load failure, a full queue) is an ordinary HTTP error in the
 * family's shape. The generation stops when the client leaves. Collect or pipe what this returns
 * at once: a generation nobody reads holds its model until then.
 */
export async function startGeneration(
  engine: Pick<Engine, 'generate'>,
  exchange: Exchange,
  call: GenerationCall,
): Promise<Generation> {
  const started = performance.now();
  // Noted now, so that a request its client leaves before the first token is logged with its model.
  noteUsage(exchange.request, { model: call.model });
  const signal = clientGone(exchange.request, exchange.reply);
  const open = () =>
    engine.generate(call.model, call.request, {
      signal,
      ...(call.keepAliveMs !== undefined ? { keepAliveMs: call.keepAliveMs } : {}),
    });
  const attempt = await firstEvent(exchange, open, signal, false);
  return new Generation(exchange, attempt, signal, call, started, open);
}

/** One run of the engine's generator, with its first event already read. */
interface Attempt {
  readonly events: AsyncIterator<GenerateEvent>;
  readonly first: IteratorResult<GenerateEvent>;
  /** Whether this is the one retry a crashed runner earns. */
  readonly retried: boolean;
}

/**
 * Opens the generation and reads its first event. NOTE: a runner that dies before anything reached
 * the client (killed, out of memory) costs the client nothing: the scheduler starts a fresh one and
 * the request runs once more. A second crash is the model's fault, and answers `runner_crashed`.
 */
async function firstEvent(
  exchange: Exchange,
  open: () => AsyncIterator<GenerateEvent>,
  signal: AbortSignal,
  retried: boolean,
): Promise<Attempt> {
  const events = open();
  try {
    return { events, first: await events.next(), retried };
  } catch (error) {
    if (retried || !isCrash(error) || signal.aborted) throw error;
    exchange.request.log.warn({ err: error }, 'the runner died before the answer began; running it again');
    return firstEvent(exchange, open, signal, true);
  }
}

function isCrash(error: unknown): boolean {
  return isLodgeError(error) && error.code === 'runner_crashed';
}

/** A started generation: collect it into one reply, or pipe it to the client through a formatter. */
export class Generation {
  private readonly tools: ReadonlySet<string>;

  constructor(
    private readonly exchange: Exchange,
    private attempt: Attempt,
    private readonly signal: AbortSignal,
    private readonly call: GenerationCall,
    private readonly started: number,
    private readonly open: () => AsyncIterator<GenerateEvent>,
  ) {
    this.tools = call.tools ?? new Set();
  }

  private get events(): AsyncIterator<GenerateEvent> {
    return this.attempt.events;
  }

  private get first(): IteratorResult<GenerateEvent> {
    return this.attempt.first;
  }

  /**
   * Reads the generation to its end: the text (tool calls parsed out), logprobs and figures. Since
   * nothing has reached the client yet, a runner that dies on the way is replaced and the request
   * runs once more.
   */
  async collect(): Promise<CollectedGeneration> {
    try {
      return await this.#collectOnce();
    } catch (error) {
      if (this.attempt.retried || !isCrash(error) || this.signal.aborted) throw error;
      this.exchange.request.log.warn({ err: error }, 'the runner died mid-answer; running it again');
      this.attempt = await firstEvent(this.exchange, this.open, this.signal, true);
      return this.#collectOnce();
    }
  }

  async #collectOnce(): Promise<CollectedGeneration> {
    let text = '';
    const logprobs: TokenLogprob[] = [];
    const done = await this.#drain((event) => {
      text += event.text;
      logprobs.push(...(event.logprobs ?? []));
    });
    const { content, calls } =
      this.tools.size > 0 ? parseToolCalls(text, this.tools) : { content: text, calls: [] };
    return { ...done, content, calls: [...calls, ...done.calls], logprobs };
  }

  /**
   * Streams the generation to the client in one family's format: the status and headers go out
   * now, text as it comes (what could be a tool call held back to the end), and a failure after
   * this point becomes the formatter's in-stream error, since the status is already sent.
   */
  async pipe(formatter: StreamFormatter): Promise<FastifyReply> {
    const { request, reply } = this.exchange;
    const stream = openStream(request, reply, formatter.contentType, this.signal);
    const write = (chunk: string) => {
      if (chunk !== '') stream.write(chunk);
    };
    const holdback = this.tools.size > 0 ? new ToolCallHoldback() : null;
    try {
      write(formatter.open(this.#start()));
      const done = await this.#drain((event) => {
        const visible = holdback ? holdback.push(event.text) : event.text;
        if (visible !== '' || event.logprobs) write(formatter.text(visible, event.logprobs));
      });
      const { content, calls } = holdback
        ? parseToolCalls(holdback.finish(), this.tools)
        : { content: '', calls: [] };
      write(formatter.finish({ ...done, content, calls: [...calls, ...done.calls] }));
    } catch (error) {
      logStreamFailure(request.log, error);
      const failure = isLodgeError(error)
        ? error
        : new LodgeError('internal', 'The generation failed; the server log has the details.');
      noteError(request, failure.code);
      write(formatter.error(failure));
    } finally {
      stream.end();
    }
    return reply;
  }

  /** The prompt's size, from the first event (a generation that wrote nothing has only its end). */
  #start(): GenerationStart {
    const first = this.first.done ? undefined : this.first.value;
    if (first?.type === 'done')
      return { promptTokens: first.stats.promptTokens, cachedTokens: first.stats.cachedTokens };
    return { promptTokens: first?.prompt?.tokens ?? 0, cachedTokens: first?.prompt?.cached ?? 0 };
  }

  /**
   * Runs the events to their end, handing each text piece to `onText`. NOTE: read to the end, past
   * `done`, so that the engine's generator finishes and releases the model; one left suspended at
   * its last event would hold the runner forever.
   */
  async #drain(onText: (event: Extract<GenerateEvent, { type: 'text' }>) => void): Promise<Ended> {
    let done: Ended | null = null;
    let route: string | undefined;
    try {
      let generated = 0;
      for (let step = this.first; !step.done; step = await this.events.next()) {
        const event = step.value;
        if (event.type === 'text') {
          // Kept current, so that a stream its client leaves is logged with the tokens sent so far.
          generated += event.tokens;
          noteUsage(this.exchange.request, { model: this.call.model, completionTokens: generated });
          onText(event);
        } else {
          done = {
            finishReason: event.finishReason,
            stopSequence: event.stopSequence ?? null,
            stats: event.stats,
            totalMs: performance.now() - this.started,
            calls: event.calls ?? [],
          };
          if (event.route) route = routeText(event.route);
        }
      }
    } finally {
      // A formatter that threw leaves the generator suspended: end it, so the model is released.
      await this.events.return?.(undefined);
    }
    if (done === null) throw new LodgeError('internal', 'The generation ended without a result.');
    noteUsage(this.exchange.request, {
      model: this.call.model,
      promptTokens: done.stats.promptTokens,
      completionTokens: done.stats.completionTokens,
      finishReason: done.finishReason,
      ...(route !== undefined ? { route } : {}),
    });
    return done;
  }
}

/** What {@link Generation} reads off the `done` event: the end, and calls a remote returned parsed. */
type Ended = Pick<GenerationEnd, 'finishReason' | 'stopSequence' | 'stats' | 'totalMs'> & {
  readonly calls: readonly ToolCall[];
};

/** A route as the request log keeps it: `served lab/m; failed local/x (why), …`. */
function routeText(route: RouteNote): string {
  const failed = route.failed.map((entry) => `${entry.target} (${entry.reason})`).join(', ');
  return failed === '' ? `served ${route.served}` : `served ${route.served}; failed ${failed}`;
}
