import { CliError, type CoreClient } from './client';
import type { Output } from './output';
import type { Spinner } from './spinner';
import { OllamaChatStreamLineSchema } from '../../shared/ollama-stream';

/** One turn of the conversation, as `/api/chat` takes it. */
interface Turn {
  readonly role: 'user' | 'assistant';
  readonly content: string;
}

/** An Ollama option value `/set parameter` can give: a number, or the stop strings. */
export type OptionValue = number | string[];

/**
 * The conversation `lodge run` holds with one model over Ollama's `/api/chat`: its history, and
 * the options (`/set parameter`) every later turn is sent with.
 */
export class ChatSession {
  #history: Turn[] = [];
  readonly #options = new Map<string, OptionValue>();

  constructor(
    private readonly client: CoreClient,
    private readonly output: Output,
    /** The model as the server is to be told: id, with the variant when one was named. */
    readonly model: string,
    private readonly spinner: Spinner,
  ) {}

  /** The options set so far, in the order they were set. */
  get options(): ReadonlyMap<string, OptionValue> {
    return this.#options;
  }

  /** Sets one option for the turns to come. */
  setOption(name: string, value: OptionValue): void {
    this.#options.set(name, value);
  }

  /** Forgets the conversation so far: the next turn starts a fresh context. Options stay. */
  clear(): void {
    this.#history = [];
  }

  /**
   * Sends `text` and streams the answer to the output. Aborting `signal` (Ctrl+C) stops the answer
   * where it is: what came so far stays in the history, as `ollama run` keeps it.
   */
  async ask(text: string, signal?: AbortSignal): Promise<void> {
    this.#history.push({ role: 'user', content: text });
    let answer = '';
    this.spinner.start();
    try {
      const response = await this.client.fetch(`${this.client.base}/api/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: this.model,
          messages: this.#history,
          stream: true,
          ...(this.#options.size > 0 ? { options: Object.fromEntries(this.#options) } : {}),
        }),
        ...(signal ? { signal } : {}),
      });
      if (!response.ok) {
        const body = (await response.json().catch(() => ({}))) as { error?: string };
        throw new CliError(body.error ?? `Lodge answered ${response.status}.`);
      }
      if (!response.body) return;
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        buffer += decoder.decode(chunk.value, { stream: true });
        for (let end = buffer.indexOf('\n'); end !== -1; end = buffer.indexOf('\n')) {
          const line = OllamaChatStreamLineSchema.parse(JSON.parse(buffer.slice(0, end)));
          buffer = buffer.slice(end + 1);
          if ('error' in line) throw new CliError(line.error);
          const piece = line.message.content;
          if (piece === '') continue;
          this.spinner.stop();
          answer += piece;
          this.output.out(piece);
        }
      }
    } catch (error) {
      if (!signal?.aborted) {
        this.#history.pop();
        throw error;
      }
    } finally {
      this.spinner.stop();
    }
    this.output.out('\n');
    if (answer === '') this.#history.pop();
    else this.#history.push({ role: 'assistant', content: answer });
  }
}
