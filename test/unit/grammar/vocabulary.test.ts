import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import type { GrammarSpec } from '../../../src/shared/grammar';
import { GrammarMask } from '../../../src/main/runner/grammar/grammar-mask';
import { ModelGrammars } from '../../../src/main/runner/grammar/model-grammars';
import { grammarVocabulary } from '../../../src/main/runner/grammar/vocabulary';
import { byteLevelTokenizer } from '../../fixtures/tokenizer';

/** A SentencePiece-style tokenizer.json (Llama 2 / Mistral): `▁` for spaces, byte-fallback tokens. */
function sentencePieceJson(): Record<string, unknown> {
  const pieces = ['<unk>', '<s>', '</s>'];
  for (let byte = 0; byte < 256; byte++)
    pieces.push(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`);
  pieces.push('▁', '▁there', 'hi', '"', 'h', 'i', 't', 'e', 'r', '{', '}', ':', ',');
  return {
    added_tokens: [
      { id: 0, content: '<unk>', special: true },
      { id: 1, content: '<s>', special: true },
      { id: 2, content: '</s>', special: true },
    ],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    pre_tokenizer: null,
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      byte_fallback: true,
      vocab: Object.fromEntries(pieces.map((piece, id) => [piece, id])),
      merges: [],
    },
  };
}

/** The length of the text a token stands for (a `<0x41>` byte token is one byte). */
function textLength(token: string | undefined): number {
  return token === undefined ? 0 : /^<0x[0-9A-F]{2}>$/.test(token) ? 1 : token.length;
}

/** Follows the grammar by always taking the longest allowed token; returns the token ids. */
async function walk(grammars: ModelGrammars, spec: GrammarSpec, encoded: readonly string[], stop: number) {
  const mask = await GrammarMask.create(grammars, spec);
  const ids: number[] = [];
  try {
    for (let step = 0; step < 64; step++) {
      const logits = new Float32Array(grammars.vocabSize);
      await mask.apply(logits);
      let best = -1;
      for (let id = 0; id < logits.length; id++)
        if (logits[id] === 0 && (best === -1 || textLength(encoded[id]) > textLength(encoded[best])))
          best = id;
      if (best === stop) return ids;
      mask.accept(best);
      ids.push(best);
    }
    throw new Error('the grammar did not end');
  } finally {
    mask.dispose();
  }
}

describe('the vocabulary XGrammar reads from tokenizer.json', () => {
  it('reads a byte-level BPE (GPT-2 / Qwen) as byte_level, special tokens as empty (never allowed)', () => {
    const fixture = byteLevelTokenizer(24);
    const stop = fixture.specialIds['<|im_end|>'];
    const vocab = grammarVocabulary(fixture.json as Record<string, unknown>, new Set([stop]));
    expect(vocab.type).toBe('byte_level');
    expect(vocab.prependSpace).toBe(false);
    expect(vocab.encoded.length).toBe(fixture.vocabSize);
    expect(vocab.encoded[fixture.specialIds['<|im_start|>']]).toBe('');
    expect(vocab.encoded[stop]).toBe('<|im_end|>');
  });

  it('reads a SentencePiece byte-fallback vocabulary as byte_fallback with a prepended space', () => {
    const vocab = grammarVocabulary(sentencePieceJson(), new Set([2]));
    expect(vocab.type).toBe('byte_fallback');
    expect(vocab.prependSpace).toBe(true);
  });

  it('lets a byte-level model spell exactly the grammar, as the real tokenizer decodes it', async () => {
    const fixture = byteLevelTokenizer(24);
    const stop = fixture.specialIds['<|im_end|>'];
    const json = fixture.json as Record<string, unknown>;
    // The model's LM head is wider than its tokenizer, as real exports pad it.
    const grammars = await ModelGrammars.create(json, new Set([stop]), fixture.vocabSize + 40);
    const encoded = grammarVocabulary(json, new Set([stop])).encoded;
    const schema = {
      type: 'object',
      properties: { answer: { const: 'The quick fox!' } },
      required: ['answer'],
    };
    const ids = await walk(grammars, { kind: 'json_schema', schema, strict: true }, encoded, stop);
    const tokenizer = new Tokenizer(fixture.json, {});
    expect(tokenizer.decode(ids, { skip_special_tokens: true })).toBe('{"answer": "The quick fox!"}');
    // Merged tokens were used, not only single bytes.
    expect(ids.length).toBeLessThan('{"answer": "The quick fox!"}'.length);
    grammars.dispose();
  });

  it('never allows a chat-template special token, and allows the stop token only where the output may end', async () => {
    const fixture = byteLevelTokenizer(24);
    const { '<|im_start|>': imStart, '<|im_end|>': stop } = fixture.specialIds;
    const grammars = await ModelGrammars.create(fixture.json as Record<string, unknown>, new Set([stop]), 0);
    const mask = await GrammarMask.create(grammars, {
      kind: 'json_schema',
      schema: { type: 'string' },
      strict: true,
    });
    const quote = 0x22; // byte tokens come first, by byte value
    const logits = new Float32Array(grammars.vocabSize);
    await mask.apply(logits);
    expect(logits[quote]).toBe(0);
    expect(logits[stop]).toBe(-Infinity);
    mask.accept(quote);
    logits.fill(0);
    await mask.apply(logits);
    // Inside a string nearly every token is text, but not the template's markers, and not the end.
    expect(mask.allowed).toBeGreaterThan(150);
    expect(logits[imStart]).toBe(-Infinity);
    expect(logits[stop]).toBe(-Infinity);
    mask.accept(quote);
    logits.fill(0);
    await mask.apply(logits);
    expect(logits[stop]).toBe(0);
    mask.accept(stop);
    expect(mask.done).toBe(true);
    mask.dispose();
    grammars.dispose();
  });

  it('lets a SentencePiece model write a space with ▁ tokens and end only at the end', async () => {
    const json = sentencePieceJson();
    const grammars = await ModelGrammars.create(json, new Set([2]), 0);
    const encoded = grammarVocabulary(json, new Set([2])).encoded;
    const ids = await walk(
      grammars,
      { kind: 'json_schema', schema: { const: 'hi there' }, strict: true },
      encoded,
      2,
    );
    const pieces = ids.map((id) => encoded[id] ?? '');
    // The merged ▁there piece carries the space, as SentencePiece spells it.
    expect(pieces).toContain('▁there');
    const text = pieces
      .join('')
      .replace(/<0x([0-9A-F]{2})>/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
      .replaceAll('▁', ' ');
    expect(text).toBe('"hi there"');
    grammars.dispose();
  });
});
