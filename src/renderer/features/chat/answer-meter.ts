import type { StreamedAnswer } from './stream-chat';

/**
 * Counts what arrived of a streamed answer, so that an answer stopped before the server's final
 * chunk (which carries the usage) still shows what was generated: one streamed delta is one token.
 */
export class AnswerMeter {
  #chunks = 0;
  #firstAt: number | null = null;
  #lastAt: number | null = null;

  /** Notes one streamed delta. */
  chunk(): void {
    const now = performance.now();
    this.#chunks += 1;
    this.#firstAt ??= now;
    this.#lastAt = now;
  }

  /**
   * The answer's figures: the server's own when its final chunk arrived, else what was counted.
   * `promptTokens` stands in for the prompt's size when the server never said it (a stopped answer):
   * the context the conversation had already used is what this prompt at least holds.
   */
  figures(answer: StreamedAnswer, promptTokens: number): StreamedAnswer {
    if (answer.completionTokens > 0 || this.#chunks === 0) return answer;
    const spanMs = (this.#lastAt ?? 0) - (this.#firstAt ?? 0);
    return {
      ...answer,
      promptTokens: answer.promptTokens > 0 ? answer.promptTokens : promptTokens,
      completionTokens: this.#chunks,
      tokensPerSecond:
        answer.tokensPerSecond > 0
          ? answer.tokensPerSecond
          : this.#chunks > 1 && spanMs > 0
            ? ((this.#chunks - 1) / spanMs) * 1000
            : 0,
    };
  }
}
