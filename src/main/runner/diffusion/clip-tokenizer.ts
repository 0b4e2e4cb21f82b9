import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunnerError } from '../runner-error';

const START = '<|startoftext|>';
const END = '<|endoftext|>';
/** CLIP's pre-tokenizer: the special tokens, English contractions, letter runs, single digits, symbol runs. */
const PATTERN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+/giu;

/**
 * CLIP's byte-level BPE tokenizer, as the `tokenizer/` folder of a Stable Diffusion export holds it
 * (vocab.json and merges.txt, or a tokenizer.json): lower-cased, whitespace collapsed, each word's
 * last symbol marked `</w>`, wrapped in start and end tokens and padded to the model's length.
 */
export class ClipTokenizer {
  readonly #ranks = new Map<string, number>();
  readonly #cache = new Map<string, string[]>();
  readonly #bytes = byteCharacters();

  private constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    merges: readonly string[],
    readonly maxLength: number,
    private readonly padId: number,
  ) {
    merges.forEach((merge, rank) => this.#ranks.set(merge, rank));
  }

  /** Reads the tokenizer in `dir` (a model's `tokenizer/` folder). */
  static open(dir: string): ClipTokenizer {
    let vocab: Record<string, number>;
    let merges: string[];
    const fast = join(dir, 'tokenizer.json');
    try {
      if (existsSync(join(dir, 'vocab.json')) && existsSync(join(dir, 'merges.txt'))) {
        vocab = JSON.parse(readFileSync(join(dir, 'vocab.json'), 'utf8')) as Record<string, number>;
        merges = readFileSync(join(dir, 'merges.txt'), 'utf8')
          .split('\n')
          .filter((line) => line.trim() !== '' && !line.startsWith('#version'));
      } else if (existsSync(fast)) {
        const model = (
          JSON.parse(readFileSync(fast, 'utf8')) as { model?: { vocab?: unknown; merges?: unknown } }
        ).model;
        vocab = (model?.vocab ?? {}) as Record<string, number>;
        merges = Array.isArray(model?.merges)
          ? model.merges.map((merge: unknown) => (Array.isArray(merge) ? merge.join(' ') : String(merge)))
          : [];
      } else throw new Error('missing');
    } catch {
      throw new RunnerError(
        'model_load_failed',
        'The tokenizer/ folder needs vocab.json and merges.txt (or a tokenizer.json) that can be read.',
      );
    }
    const config = readJson(join(dir, 'tokenizer_config.json'));
    const specials = readJson(join(dir, 'special_tokens_map.json'));
    const lengthValue = config.model_max_length;
    const maxLength =
      typeof lengthValue === 'number' && lengthValue >= 3 && lengthValue <= 1024 ? lengthValue : 77;
    const table = new Map(Object.entries(vocab));
    for (const token of [START, END])
      if (!table.has(token))
        throw new RunnerError('model_load_failed', `The tokenizer's vocabulary has no ${token} token.`);
    const pad = tokenText(config.pad_token) ?? tokenText(specials.pad_token) ?? END;
    return new ClipTokenizer(table, merges, maxLength, table.get(pad) ?? (table.get(END) as number));
  }

  /** The ids of `text`: start, the text's tokens (cut to fit), end, then padding to {@link maxLength}. */
  encode(text: string): Int32Array {
    const ids: number[] = [];
    const clean = text.replace(/\s+/g, ' ').trim().toLowerCase();
    for (const match of clean.matchAll(PATTERN)) {
      const word = [...new TextEncoder().encode(match[0])]
        .map((byte) => this.#bytes[byte] as string)
        .join('');
      for (const piece of this.#bpe(word)) {
        const id = this.vocab.get(piece);
        if (id !== undefined) ids.push(id);
      }
    }
    const kept = ids.slice(0, this.maxLength - 2);
    const out = new Int32Array(this.maxLength).fill(this.padId);
    out[0] = this.vocab.get(START) as number;
    out.set(kept, 1);
    out[kept.length + 1] = this.vocab.get(END) as number;
    return out;
  }

  #bpe(word: string): string[] {
    const cached = this.#cache.get(word);
    if (cached) return cached;
    const chars = [...word];
    let parts = [...chars.slice(0, -1), `${chars[chars.length - 1] ?? ''}</w>`];
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let index = 0; index + 1 < parts.length; index++) {
        const rank = this.#ranks.get(`${parts[index]} ${parts[index + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = index;
        }
      }
      if (best < 0) break;
      const left = parts[best] as string;
      const right = parts[best + 1] as string;
      const merged: string[] = [];
      for (let index = 0; index < parts.length; index++) {
        if (index + 1 < parts.length && parts[index] === left && parts[index + 1] === right) {
          merged.push(left + right);
          index++;
        } else merged.push(parts[index] as string);
      }
      parts = merged;
    }
    if (this.#cache.size < 10_000) this.#cache.set(word, parts);
    return parts;
  }
}

/** GPT-2's reversible map from bytes to printable characters, which CLIP's vocabulary is written in. */
export function byteCharacters(): string[] {
  const printable = new Set<number>();
  for (let code = 33; code <= 126; code++) printable.add(code);
  for (let code = 161; code <= 172; code++) printable.add(code);
  for (let code = 174; code <= 255; code++) printable.add(code);
  let extra = 0;
  return Array.from({ length: 256 }, (_, byte) =>
    printable.has(byte) ? String.fromCharCode(byte) : String.fromCharCode(256 + extra++),
  );
}

function tokenText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { content?: unknown }).content === 'string'
  )
    return (value as { content: string }).content;
  return null;
}

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}
