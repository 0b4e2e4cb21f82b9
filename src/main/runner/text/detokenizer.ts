/**
 * Streaming detokenization: turns tokens into text as they arrive without ever emitting a broken
 * character. It decodes a small window (from the last emitted boundary) instead of the whole
 * output each time, and holds text back while it ends in an incomplete UTF-8 sequence (U+FFFD).
 * This is the approach of Hugging Face's DecodeStream.
 */
export class StreamingDetokenizer {
  readonly #ids: number[] = [];
  #prefixOffset = 0;
  #readOffset = 0;
  /** decode(ids[prefixOffset, readOffset)), kept so each token costs one decode, not two. */
  #readText = '';

  constructor(private readonly decode: (ids: readonly number[]) => string) {}

  /** Adds a token; returns the text it completes (possibly empty). */
  push(id: number): string {
    this.#ids.push(id);
    const before = this.#readText;
    const after = this.decode(this.#ids.slice(this.#prefixOffset));
    if (after.length > before.length && !after.endsWith('\uFFFD')) {
      this.#prefixOffset = this.#readOffset;
      this.#readOffset = this.#ids.length;
      this.#readText = this.decode(this.#ids.slice(this.#prefixOffset, this.#readOffset));
      return after.slice(before.length);
    }
    return '';
  }

  /** Whatever is still held back (an incomplete sequence at the very end), decoded as it is. */
  flush(): string {
    const after = this.decode(this.#ids.slice(this.#prefixOffset));
    const rest = after.slice(this.#readText.length);
    this.#prefixOffset = this.#readOffset = this.#ids.length;
    this.#readText = '';
    return rest;
  }
}
