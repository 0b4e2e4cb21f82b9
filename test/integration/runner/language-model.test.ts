import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GREEDY, type GenerateEvent, type GenerateRequest } from '../../../src/shared/engine';
import { generate } from '../../../src/main/runner/llm/generate';
import { LanguageModel } from '../../../src/main/runner/llm/language-model';
import { fixturePath, TINY_LM, TINY_LM_EXTERNAL, WIDE_LM } from '../../fixtures/models';

async function open(spec = TINY_LM) {
  const dir = fixturePath(spec);
  return (
    await LanguageModel.open(dir, join(dir, 'onnx/model.onnx'), {
      providers: ['cpu'],
      threads: 1,
      cacheDir: null,
    })
  ).model;
}

async function run(
  model: LanguageModel,
  request: Partial<GenerateRequest> & Pick<GenerateRequest, 'prompt'>,
  signal = new AbortController().signal,
) {
  const events: GenerateEvent[] = [];
  for await (const event of generate(
    model,
    { maxTokens: 12, stop: [], sampling: GREEDY, ...request },
    'test/tiny',
    signal,
  ))
    events.push(event);
  const done = events.at(-1);
  if (done?.type !== 'done') throw new Error('no done event');
  const text = events.map((event) => (event.type === 'text' ? event.text : '')).join('');
  return { text, done, events };
}

const hello = { kind: 'text', text: 'The quick brown fox' } as const;

describe('LanguageModel on a real onnxruntime session (tiny generated LM)', () => {
  let model: LanguageModel;
  beforeAll(async () => {
    model = await open();
  });
  afterAll(async () => {
    await model.release();
  });

  it('gives the same logits with the KV cache as recomputing the whole sequence (within 1e-4)', async () => {
    const prompt = model.tokenizer.encode('Hello there! How are you');
    model.clearCache();
    let { logits } = await model.prefill(prompt);
    const sequence = [...prompt];
    const cachedRows: Float32Array[] = [Float32Array.from(logits)];
    for (let step = 0; step < 8; step++) {
      let best = 0;
      for (let index = 1; index < logits.length; index++)
        if ((logits[index] as number) > (logits[best] as number)) best = index;
      sequence.push(best);
      logits = await model.step(best);
      cachedRows.push(Float32Array.from(logits));
    }
    const full = await model.logitsOfAll(sequence);
    cachedRows.forEach((row, step) => {
      const reference = full[prompt.length - 1 + step] as Float32Array;
      let worst = 0;
      for (let index = 0; index < row.length; index++)
        worst = Math.max(worst, Math.abs((row[index] as number) - (reference[index] as number)));
      expect(worst).toBeLessThan(1e-4);
    });
  });

  it('decodes greedily and deterministically', async () => {
    const first = await run(model, { prompt: hello });
    model.clearCache();
    const second = await run(model, { prompt: hello });
    expect(first.text.length).toBeGreaterThan(0);
    expect(second.text).toBe(first.text);
    expect(first.done).toMatchObject({ finishReason: 'length', stats: { completionTokens: 12 } });
  });

  it('reproduces a sampled run with the same seed, and varies with another', async () => {
    const sampling = { ...GREEDY, temperature: 1.2, topK: 50, topP: 0.95, seed: 42 };
    const a = await run(model, { prompt: hello, sampling, maxTokens: 24 });
    const b = await run(model, { prompt: hello, sampling, maxTokens: 24 });
    const others: string[] = [];
    for (const seed of [43, 44, 45])
      others.push((await run(model, { prompt: hello, sampling: { ...sampling, seed }, maxTokens: 24 })).text);
    expect(b.text).toBe(a.text);
    expect(others.some((text) => text !== a.text)).toBe(true);
  });

  it('stops at a stop string split across tokens and never emits it', async () => {
    const free = await run(model, { prompt: hello, maxTokens: 16 });
    // Without stop strings, each streamed piece is one token: join the end of one to the start of the next.
    const pieces = free.events.flatMap((event) =>
      event.type === 'text' && event.text !== '' ? [event.text] : [],
    );
    const boundary = pieces.findIndex((piece, index) => index > 0 && piece.length > 0);
    const stop = (pieces[boundary - 1] ?? '').slice(-1) + (pieces[boundary] ?? '').slice(0, 1);
    expect(stop.length).toBe(2);
    const stopped = await run(model, { prompt: hello, maxTokens: 16, stop: [stop] });
    expect(stopped.done.finishReason).toBe('stop');
    expect(stopped.text).toBe(free.text.slice(0, free.text.indexOf(stop)));
    expect(stopped.events.map((event) => (event.type === 'text' ? event.text : '')).join('')).not.toContain(
      stop,
    );
  });

  it('honours max_tokens', async () => {
    const { done } = await run(model, { prompt: hello, maxTokens: 3 });
    expect(done).toMatchObject({ finishReason: 'length', stats: { completionTokens: 3 } });
  });

  it('reuses the KV cache of the previous turn: same output as a cold run, only new tokens processed', async () => {
    const turn1 = [{ role: 'user', content: 'Hello there!' }] as const;
    model.clearCache();
    const first = await run(model, { prompt: { kind: 'chat', messages: turn1 } });
    const turn2 = [
      ...turn1,
      { role: 'assistant', content: first.text },
      { role: 'user', content: 'How are you today?' },
    ] as const;
    const warm = await run(model, { prompt: { kind: 'chat', messages: turn2 } });
    model.clearCache();
    const cold = await run(model, { prompt: { kind: 'chat', messages: turn2 } });
    expect(warm.text).toBe(cold.text);
    expect(cold.done.stats.cachedTokens).toBe(0);
    const turn1Prompt = model.tokenizer.encode(model.template?.render(turn1) ?? '');
    expect(warm.done.stats.cachedTokens).toBeGreaterThanOrEqual(turn1Prompt.length);
    expect(warm.done.stats.cachedTokens).toBeLessThan(warm.done.stats.promptTokens);
  });

  it('refuses a prompt longer than the context window, and stops at its end', async () => {
    const long = { kind: 'text', text: 'the '.repeat(40) } as const;
    await expect(run(model, { prompt: long, contextLimit: 20 })).rejects.toThrow(/context window is 20/);
    const tokens = model.tokenizer.encode('The quick brown fox').length;
    const { done } = await run(model, { prompt: hello, contextLimit: tokens + 2, maxTokens: 50 });
    expect(done).toMatchObject({ finishReason: 'length', stats: { completionTokens: 2 } });
  });

  it('refuses a second sequence while one is running (they share the KV cache)', async () => {
    const first = generate(
      model,
      { prompt: hello, maxTokens: 5, stop: [], sampling: GREEDY },
      'test/tiny',
      new AbortController().signal,
    );
    await first.next();
    await expect(run(model, { prompt: hello })).rejects.toThrow(/already generating/);
    await first.return(undefined);
    expect((await run(model, { prompt: hello, maxTokens: 2 })).done.stats.completionTokens).toBe(2);
  });

  it('stops within one token of a cancel', async () => {
    const controller = new AbortController();
    const events: GenerateEvent[] = [];
    for await (const event of generate(
      model,
      { prompt: hello, maxTokens: 200, stop: [], sampling: GREEDY, ignoreEos: true },
      'test/tiny',
      controller.signal,
    )) {
      events.push(event);
      if (event.type === 'text' && events.length === 3) controller.abort();
    }
    const done = events.at(-1);
    expect(done).toMatchObject({ type: 'done', finishReason: 'cancelled' });
    if (done?.type === 'done') expect(done.stats.completionTokens).toBeLessThanOrEqual(4);
  });

  it('reports log-probabilities with alternatives', async () => {
    const { events } = await run(model, { prompt: hello, maxTokens: 4, logprobs: 3 });
    const scored = events.flatMap((event) => (event.type === 'text' ? (event.logprobs ?? []) : []));
    expect(scored).toHaveLength(4);
    for (const entry of scored) {
      expect(entry.logprob).toBeLessThanOrEqual(0);
      expect(entry.top).toHaveLength(3);
      // Greedy: the chosen token is the most likely one.
      expect(entry.logprob).toBeCloseTo(entry.top[0]?.logprob ?? 0, 5);
    }
  });

  it('renders the chat template to the golden ChatML string', () => {
    const text = model.template?.render([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
    ]);
    expect(text).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
    );
    const withTools = model.template?.render(
      [{ role: 'user', content: 'Weather?' }],
      [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
    );
    expect(withTools).toContain(
      '<tools>\n{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}\n</tools>',
    );
  });

  it('streams multi-byte characters whole, however the tokens split them', async () => {
    const { StreamingDetokenizer } = await import('../../../src/main/runner/text/detokenizer');
    const text = 'héllo 世界 👋 done';
    const ids = model.tokenizer.encode(text);
    expect(ids.length).toBeGreaterThan([...text].length);
    const stream = new StreamingDetokenizer((slice) => model.tokenizer.decode(slice));
    const pieces = ids.map((id) => stream.push(id));
    pieces.push(stream.flush());
    for (const piece of pieces) expect(piece).not.toContain('\uFFFD');
    expect(pieces.join('')).toBe(text);
  });
});

describe('other generated LMs', () => {
  it('loads weights from an external data file', async () => {
    const model = await open(TINY_LM_EXTERNAL);
    const { text } = await run(model, { prompt: hello, maxTokens: 4 });
    expect(text.length).toBeGreaterThan(0);
    await model.release();
  });

  it('feeds num_logits_to_keep on the wide-vocabulary LM and gets one row of 151,936 logits', async () => {
    const model = await open(WIDE_LM);
    const { logits } = await model.prefill(model.tokenizer.encode('Hello there, how are you?'));
    expect(logits.length).toBe(151_936);
    const { done } = await run(model, { prompt: hello, maxTokens: 5, ignoreEos: true });
    expect(done.stats.completionTokens).toBe(5);
    await model.release();
  });
});
