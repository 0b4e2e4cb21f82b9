// Lodge's CLIP tokenizer (vocab.json + merges.txt, as diffusers exports ship it) against
// transformers.js' CLIPTokenizer on the same vocabulary, written as the tokenizer.json that
// openai/clip-vit-base-patch32 ships (its normalizer, split pattern, byte-level BPE with `</w>`).
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AutoTokenizer, env } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClipTokenizer } from '../../../src/main/runner/diffusion/clip-tokenizer';
import { TINY_TURBO, writeDiffusionModel } from '../../fixtures/diffusion';
import { tempDir } from '../../helpers/temp-dir';

const TEXTS = [
  'a photo of a cat sitting on a red chair',
  'A  Painting, of THE sea!!  at night 2024',
  "don't stop: it's the house's roof",
  'café naïve 東京 🙂',
  '',
];

describe('CLIP tokenization against transformers.js', () => {
  const root = tempDir();
  let dir: string;
  beforeAll(() => {
    writeDiffusionModel(root.path, TINY_TURBO);
    dir = join(root.path, 'tokenizer');
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = `${dirname(dir)}/`;
    const vocab = JSON.parse(readFileSync(join(dir, 'vocab.json'), 'utf8')) as Record<string, number>;
    const merges = readFileSync(join(dir, 'merges.txt'), 'utf8')
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'));
    const special = (content: string) => ({
      id: vocab[content],
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: true,
      special: true,
    });
    writeFileSync(
      join(dir, 'tokenizer.json'),
      JSON.stringify({
        version: '1.0',
        truncation: null,
        padding: null,
        added_tokens: [special('<|startoftext|>'), special('<|endoftext|>')],
        normalizer: {
          type: 'Sequence',
          normalizers: [
            { type: 'NFC' },
            { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' },
            { type: 'Lowercase' },
          ],
        },
        pre_tokenizer: {
          type: 'Sequence',
          pretokenizers: [
            {
              type: 'Split',
              pattern: { Regex: "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+" },
              behavior: 'Removed',
              invert: true,
            },
            { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
          ],
        },
        post_processor: {
          type: 'RobertaProcessing',
          sep: ['<|endoftext|>', vocab['<|endoftext|>']],
          cls: ['<|startoftext|>', vocab['<|startoftext|>']],
          trim_offsets: false,
          add_prefix_space: false,
        },
        decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
        model: {
          type: 'BPE',
          dropout: null,
          unk_token: '<|endoftext|>',
          continuing_subword_prefix: '',
          end_of_word_suffix: '</w>',
          fuse_unk: false,
          vocab,
          merges,
        },
      }),
    );
  });
  afterAll(() => root.remove());

  it('gives the same 77 ids: start, tokens (cut to fit), end, padding', async () => {
    const reference = await AutoTokenizer.from_pretrained(basename(dir));
    const lodge = ClipTokenizer.open(dir);
    for (const text of TEXTS) {
      const expected = reference(text, { padding: 'max_length', max_length: 77, truncation: true }) as {
        input_ids: { data: BigInt64Array };
      };
      expect([...lodge.encode(text)], text).toEqual([...expected.input_ids.data].map(Number));
    }
  });

  it('cuts a long prompt to 75 tokens and still ends it with the end token', async () => {
    const reference = await AutoTokenizer.from_pretrained(basename(dir));
    const lodge = ClipTokenizer.open(dir);
    const text = 'the sea '.repeat(60);
    const full = reference(text, { add_special_tokens: true }) as { input_ids: { data: BigInt64Array } };
    const ids = [...full.input_ids.data].map(Number);
    expect(ids.length).toBeGreaterThan(77);
    // NOTE: Hugging Face tokenizers (and so diffusers' pipelines) keep room for the end token when
    // they truncate; transformers.js cuts after adding it, so the reference is the untruncated ids.
    expect([...lodge.encode(text)]).toEqual([...ids.slice(0, 76), ids.at(-1)]);
  });
});
