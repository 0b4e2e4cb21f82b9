// Text events on their way to the core, merged so a fast model sends a few messages per frame
// instead of one per token: each message costs the core a structured-clone, a trip through its
// async generators and an HTTP write, time taken from the runner's own cores.
import type { GenerateEvent } from '../../shared/engine';

/** After the first, text is sent when this long (a 30 Hz frame) has passed since the last send… */
export const FLUSH_MS = 33;
/** …or when this many tokens are waiting, whichever comes first. */
export const FLUSH_TOKENS = 8;

type TextEvent = Extract<GenerateEvent, { type: 'text' }>;

/**
 * Merges consecutive text events (texts joined, token counts added, logprobs concatenated) and
 * hands them to `deliver`: each at once until one with text has gone (time to first token is the
 * client's, and a first token that decodes to nothing yet, such as half a character, must not
 * hold the first visible text back for a frame), then at most every {@link FLUSH_MS} ms or
 * {@link FLUSH_TOKENS} tokens. Any other event flushes first, so order holds; a slow model (a
 * token per 33 ms or slower) still sends every token as it comes.
 */
export class TextBatcher {
  #pending: TextEvent | null = null;
  #sentAt = -Infinity;
  /** Whether an event with text has been delivered: until then, nothing waits for a frame. */
  #spoke = false;

  constructor(
    private readonly deliver: (event: GenerateEvent) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes the next event of a generation. */
  push(event: GenerateEvent): void {
    if (event.type !== 'text') {
      this.flush();
      this.deliver(event);
      return;
    }
    this.#pending = this.#pending === null ? event : merged(this.#pending, event);
    if (!this.#spoke || this.now() - this.#sentAt >= FLUSH_MS || this.#pending.tokens >= FLUSH_TOKENS)
      this.flush();
  }

  /** Sends what is waiting, if anything (at the end of a generation, or before an error). */
  flush(): void {
    if (this.#pending === null) return;
    const event = this.#pending;
    this.#pending = null;
    this.#sentAt = this.now();
    if (event.text !== '') this.#spoke = true;
    this.deliver(event);
  }
}

function merged(first: TextEvent, next: TextEvent): TextEvent {
  const logprobs = [...(first.logprobs ?? []), ...(next.logprobs ?? [])];
  return {
    ...first,
    ...next,
    text: first.text + next.text,
    tokens: first.tokens + next.tokens,
    ...(first.logprobs !== undefined || next.logprobs !== undefined ? { logprobs } : {}),
  };
}
