/**
 * Finds stop strings in streamed text, across token boundaries. Text that might be the start of
 * a stop string is held back until it is known not to be, so a stop string is never emitted.
 */
export class StopMatcher {
  #held = '';
  #matched: string | null = null;
  readonly #longest: number;

  constructor(private readonly stops: readonly string[]) {
    this.#longest = Math.max(0, ...stops.map((stop) => stop.length));
  }

  /**
   * Adds streamed text. Returns the text safe to emit, and whether a stop string was reached (the
   * text after it is dropped).
   */
  push(text: string): { emit: string; stopped: boolean } {
    if (this.stops.length === 0) return { emit: text, stopped: false };
    const buffer = this.#held + text;
    let first = -1;
    for (const stop of this.stops) {
      const index = buffer.indexOf(stop);
      if (index !== -1 && (first === -1 || index < first)) {
        first = index;
        this.#matched = stop;
      }
    }
    if (first !== -1) {
      this.#held = '';
      return { emit: buffer.slice(0, first), stopped: true };
    }
    const keep = this.#partialSuffix(buffer);
    this.#held = buffer.slice(buffer.length - keep);
    return { emit: buffer.slice(0, buffer.length - keep), stopped: false };
  }

  /** The stop string that was reached, once one was. */
  get matched(): string | null {
    return this.#matched;
  }

  /** The held text, released when generation ends for another reason. */
  flush(): string {
    const held = this.#held;
    this.#held = '';
    return held;
  }

  /** Length of the longest suffix of `buffer` that is a proper prefix of some stop string. */
  #partialSuffix(buffer: string): number {
    for (let length = Math.min(this.#longest - 1, buffer.length); length > 0; length--) {
      const suffix = buffer.slice(buffer.length - length);
      if (this.stops.some((stop) => stop.startsWith(suffix))) return length;
    }
    return 0;
  }
}
