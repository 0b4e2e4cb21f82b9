// `npm run bench` (after bench/engine.ts): the cost of grammar-constrained decoding per token at
// Qwen2.5's 151,936-token vocabulary, against one decode step of the wide generated LM. Prints a
// table; asserts nothing. The goal: the mask costs at most 10% of a decode step.
import { join } from 'node:path';
import type { GrammarSpec } from '../src/shared/grammar';
import { GrammarMask } from '../src/main/runner/grammar/grammar-mask';
import { ModelGrammars } from '../src/main/runner/grammar/model-grammars';
import { LanguageModel } from '../src/main/runner/llm/language-model';
import { bytesToUnicode } from '../test/fixtures/tokenizer';
import { fixturePath, WIDE_LM } from '../test/fixtures/models';

const VOCAB = 151_936;
const STEPS = Number(process.env.LODGE_BENCH_GRAMMAR_STEPS ?? 400);
const THREADS = Number(process.env.LODGE_BENCH_THREADS ?? 2);

/** A seeded generator (mulberry32), so every machine benchmarks the same vocabulary. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = Math.imul(state ^ (state >>> 15), 1 | state);
    value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value;
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A byte-level vocabulary shaped like Qwen's: the 256 byte tokens, then words with and without a
 * leading space (`Ġ`), capitals, numbers, punctuation runs (quotes, braces, commas among them) and
 * multi-byte characters, up to 151,643 tokens, then special tokens. The grammar engine's work per
 * step depends on how many tokens a state allows and how they share prefixes, which this mimics.
 */
function qwenLikeTokenizer(): { json: Record<string, unknown>; stop: number } {
  const random = seeded(42);
  const chars = bytesToUnicode();
  const encode = (text: string) => [...new TextEncoder().encode(text)].map((byte) => chars[byte]).join('');
  const tokens = new Set<string>(chars);
  const letters = 'etaoinshrdlcumwfgypbvkjxqz';
  const punctuation = '"{}[],:.;!?()\'-_/\\*#=<>`|&%$@+';
  const pick = (alphabet: string) => alphabet[Math.floor(random() * random() * alphabet.length)] as string;
  while (tokens.size < 151_643) {
    const kind = random();
    let text: string;
    if (kind < 0.75) {
      const length = 2 + Math.floor(random() * 9);
      text = Array.from({ length }, () => pick(letters)).join('');
      if (random() < 0.15) text = text[0]?.toUpperCase() + text.slice(1);
      if (random() < 0.7) text = ` ${text}`;
    } else if (kind < 0.82) text = String(Math.floor(random() * 1000));
    else if (kind < 0.94) {
      const length = 1 + Math.floor(random() * 3);
      text = (random() < 0.3 ? ' ' : '') + Array.from({ length }, () => pick(punctuation)).join('');
    } else text = String.fromCodePoint(0x4e00 + Math.floor(random() * 0x5000));
    tokens.add(encode(text));
  }
  const vocab = Object.fromEntries([...tokens].map((token, id) => [token, id]));
  const specials = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<tool_call>', '</tool_call>'];
  const added = specials.map((content, offset) => ({
    id: tokens.size + offset,
    content,
    special: offset < 3,
  }));
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    json: {
      added_tokens: added,
      pre_tokenizer: byteLevel,
      decoder: byteLevel,
      model: { type: 'BPE', byte_fallback: false, vocab, merges: [] },
    },
    stop: tokens.size + 2,
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))] ?? 0;

/** Walks `spec` for STEPS tokens (restarting at each end), timing the mask and the accept per step. */
async function maskSteps(
  grammars: ModelGrammars,
  spec: GrammarSpec,
  stop: number,
): Promise<{ apply: number[]; accept: number[]; total: number[] }> {
  const random = seeded(7);
  const noise = Float32Array.from({ length: VOCAB }, () => random() * 8);
  const logits = new Float32Array(VOCAB);
  const times: number[] = [];
  const applyTimes: number[] = [];
  const acceptTimes: number[] = [];
  let mask = await GrammarMask.create(grammars, spec);
  let produced = 0;
  while (times.length < STEPS) {
    // Fresh logits each step (as the model gives), shifted so the favourite changes.
    const shift = Math.floor(random() * VOCAB);
    logits.set(noise.subarray(shift));
    logits.set(noise.subarray(0, shift), VOCAB - shift);
    const started = performance.now();
    await mask.apply(logits, 160 - produced);
    const applied = performance.now();
    // Greedy choice among the allowed tokens (the sampler's work, not timed).
    let best = 0;
    for (let id = 1; id < VOCAB; id++) if ((logits[id] as number) > (logits[best] as number)) best = id;
    const ended = best === stop;
    const accepting = performance.now();
    if (!ended) mask.accept(best);
    const accepted = performance.now();
    applyTimes.push(applied - started);
    acceptTimes.push(accepted - accepting);
    times.push(applied - started + (accepted - accepting));
    produced++;
    if (ended) {
      mask.dispose();
      mask = await GrammarMask.create(grammars, spec);
      produced = 0;
    }
  }
  mask.dispose();
  return { apply: applyTimes, accept: acceptTimes, total: times };
}

/** The wide LM's decode step (LM head over 151,936 tokens), in-process, median of STEPS / 4. */
async function decodeStepMs(): Promise<number> {
  const dir = fixturePath(WIDE_LM);
  const { model } = await LanguageModel.open(dir, join(dir, 'onnx/model.onnx'), {
    providers: ['cpu'],
    threads: THREADS,
    cacheDir: null,
  });
  await model.prefill(model.tokenizer.encode('The quick brown fox jumps over the lazy dog.'));
  const times: number[] = [];
  for (let step = 0; step < Math.max(32, STEPS / 4); step++) {
    const started = performance.now();
    await model.step(100 + (step % 50));
    times.push(performance.now() - started);
  }
  await model.release();
  return median(times);
}

const EMAIL = { type: 'string', format: 'email' };
const NAME = { type: 'string', maxLength: 40 };
const SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    age: { type: 'integer', minimum: 0, maximum: 150 },
    tags: { type: 'array', items: { type: 'string' }, maxItems: 5 },
    address: {
      type: 'object',
      properties: { city: { type: 'string' }, zip: { type: 'string', pattern: '^[0-9]{5}$' } },
      required: ['city', 'zip'],
    },
    role: { enum: ['admin', 'user', 'guest'] },
  },
  required: ['name', 'age', 'tags', 'address', 'role'],
  additionalProperties: false,
};

const tokenizerStarted = performance.now();
const { json, stop } = qwenLikeTokenizer();
const made = performance.now();
const grammars = await ModelGrammars.create(json, new Set([stop]), VOCAB);
const prepared = performance.now();
const cases: { name: string; spec: GrammarSpec }[] = [
  {
    name: 'json_schema (nested, enum, range, pattern)',
    spec: { kind: 'json_schema', schema: SCHEMA, strict: true },
  },
  {
    name: 'json_schema with format: email',
    spec: {
      kind: 'json_schema',
      schema: { ...SCHEMA, properties: { ...SCHEMA.properties, email: EMAIL } },
      strict: true,
    },
  },
  {
    name: 'json_schema with maxLength: 40',
    spec: {
      kind: 'json_schema',
      schema: { ...SCHEMA, properties: { ...SCHEMA.properties, name: NAME } },
      strict: true,
    },
  },
  { name: 'json_object', spec: { kind: 'json' } },
  {
    name: 'tool_call (named)',
    spec: {
      kind: 'tool_call',
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: SCHEMA.properties.address } }],
      mode: { name: 'get_weather' },
      parallel: false,
    },
  },
];
const decodeMs = await decodeStepMs();
console.log(
  `\nGrammar-constrained decoding at a ${VOCAB.toLocaleString('en')}-token vocabulary (XGrammar 0.1.27, WebAssembly)`,
);
console.log(
  `  vocabulary made in ${(made - tokenizerStarted).toFixed(0)} ms; TokenizerInfo + compiler ready in ${(prepared - made).toFixed(0)} ms (once per model)`,
);
console.log(
  `  decode step of the wide LM (LM head over the vocabulary, ${THREADS} threads): ${decodeMs.toFixed(2)} ms`,
);
const columns = ['compile ms', 'mask p50', 'mask p90', 'accept p50', 'total p50', 'of a step'];
console.log(`\n  ${'grammar'.padEnd(44)} ${columns.map((column) => column.padStart(11)).join(' ')}`);
for (const { name, spec } of cases) {
  const compileStarted = performance.now();
  await grammars.compile(spec);
  const compileMs = performance.now() - compileStarted;
  const { apply, accept, total } = await maskSteps(grammars, spec, stop);
  const cells = [
    compileMs.toFixed(0),
    median(apply).toFixed(3),
    percentile(apply, 0.9).toFixed(3),
    median(accept).toFixed(3),
    median(total).toFixed(3),
    `${((median(total) / decodeMs) * 100).toFixed(1)}%`,
  ];
  console.log(`  ${name.padEnd(44)} ${cells.map((cell) => cell.padStart(11)).join(' ')}`);
}
console.log(
  '  (ms per token; mask = fill the bitmask and apply it to the logits; goal: total at most 10% of a decode step)',
);
grammars.dispose();
