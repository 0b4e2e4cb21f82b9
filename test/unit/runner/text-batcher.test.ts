import { describe, expect, it } from 'vitest';
import type { GenerateEvent } from '../../../src/shared/engine';
import { FLUSH_MS, FLUSH_TOKENS, TextBatcher } from '../../../src/main/runner/text-batcher';

const text = (value: string, logprob?: number): GenerateEvent => ({
  type: 'text',
  text: value,
  tokens: 1,
  ...(logprob === undefined ? {} : { logprobs: [{ token: value, logprob, top: [] }] }),
});
const DONE: GenerateEvent = {
  type: 'done',
  finishReason: 'stop',
  stats: {
    promptTokens: 3,
    cachedTokens: 0,
    completionTokens: 4,
    prefillMs: 1,
    decodeMs: 1,
    timeToFirstTokenMs: 1,
  },
};

/** A batcher on a clock the test moves, and what it delivered. */
function batcher() {
  const clock = { now: 1000 };
  const sent: GenerateEvent[] = [];
  return {
    clock,
    sent,
    events: new TextBatcher(
      (event) => sent.push(event),
      () => clock.now,
    ),
  };
}

describe('text events sent to the core', () => {
  it('sends the first at once, merges the next within a frame, and flushes before done', () => {
    const { clock, sent, events } = batcher();
    events.push(text('He'));
    expect(sent).toEqual([text('He')]);
    for (const piece of ['l', 'lo', ' w']) {
      clock.now += 1;
      events.push(text(piece));
    }
    expect(sent).toHaveLength(1);
    events.push(DONE);
    expect(sent).toEqual([text('He'), { type: 'text', text: 'llo w', tokens: 3 }, DONE]);
  });

  it('sends what waited once a frame has passed, and every token of a slow model as it comes', () => {
    const { clock, sent, events } = batcher();
    events.push(text('a'));
    clock.now += 1;
    events.push(text('b'));
    clock.now += FLUSH_MS;
    events.push(text('c'));
    expect(sent).toEqual([text('a'), { type: 'text', text: 'bc', tokens: 2 }]);
    clock.now += FLUSH_MS;
    events.push(text('d'));
    expect(sent.at(-1)).toEqual(text('d'));
  });

  it(`sends after ${FLUSH_TOKENS} tokens even within a frame, logprobs concatenated in order`, () => {
    const { sent, events } = batcher();
    events.push(text('x'));
    for (let index = 0; index < FLUSH_TOKENS; index++) events.push(text(String(index), -index));
    expect(sent).toHaveLength(2);
    const merged = sent[1];
    expect(merged).toMatchObject({ type: 'text', text: '01234567', tokens: FLUSH_TOKENS });
    expect(merged?.type === 'text' ? merged.logprobs?.map((entry) => entry.logprob) : []).toEqual([
      -0, -1, -2, -3, -4, -5, -6, -7,
    ]);
  });

  it('sends each event at once until one with text has gone, so the first visible text never waits a frame', () => {
    const { clock, sent, events } = batcher();
    // A first token that decodes to nothing yet (half of a character) opens the stream at once…
    events.push(text(''));
    clock.now += 1;
    // …and the text that completes it goes out at once too, not a frame later.
    events.push(text('é'));
    expect(sent).toEqual([text(''), text('é')]);
    clock.now += 1;
    events.push(text('t'));
    expect(sent).toHaveLength(2);
    events.flush();
    expect(sent.at(-1)).toEqual(text('t'));
  });
});
