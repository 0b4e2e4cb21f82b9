// The vocabulary of a model's tokenizer.json as XGrammar reads it: every token by id, as the
// tokenizer encodes it, and how to decode that encoding to bytes.
import type { JsonObject } from '../model/model-files';

/**
 * How token strings encode bytes. `byte_level`: GPT-2 / Qwen / Llama 3 (every byte mapped to a
 * printable character, `Ġ` for a space). `byte_fallback`: SentencePiece-style (`▁` for a space,
 * `<0x0A>` tokens for raw bytes; Llama 2, Mistral, Gemma). `raw`: the strings are the text.
 */
export type VocabType = 'byte_level' | 'byte_fallback' | 'raw';

/** What XGrammar's TokenizerInfo is built from. */
export interface GrammarVocabulary {
  /** Token strings by id; special tokens and unused ids as empty strings (never allowed). */
  readonly encoded: string[];
  readonly type: VocabType;
  /** The tokenizer adds a space before the text (SentencePiece's `add_dummy_prefix`). */
  readonly prependSpace: boolean;
}

/**
 * How a token the grammar must never allow is spelled: XGrammar treats a token that decodes to
 * nothing as special. (It would read `<|im_start|>` as the text it spells, and allow it inside a
 * JSON string.)
 */
const NEVER = '';

/**
 * Reads the vocabulary of a parsed tokenizer.json. Special tokens that are not stop tokens, and ids
 * the vocabulary does not use, are {@link NEVER} tokens, so a chat-template marker can never appear
 * in constrained output; stop tokens are XGrammar's to place at the end.
 */
export function grammarVocabulary(json: JsonObject, stopIds: ReadonlySet<number>): GrammarVocabulary {
  const model = object(json.model);
  const type = vocabType(json, model);
  const encoded: (string | undefined)[] = [];
  const vocab = model.vocab;
  if (Array.isArray(vocab)) {
    // Unigram: [piece, score] pairs in id order.
    vocab.forEach((entry, id) => {
      if (Array.isArray(entry) && typeof entry[0] === 'string') encoded[id] = entry[0];
    });
  } else {
    for (const [token, id] of Object.entries(object(vocab)))
      if (typeof id === 'number' && Number.isInteger(id) && id >= 0) encoded[id] = token;
  }
  const added = Array.isArray(json.added_tokens) ? json.added_tokens : [];
  for (const entry of added) {
    const token = object(entry);
    const { id, content } = token;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || typeof content !== 'string') continue;
    if (token.special === true && !stopIds.has(id)) encoded[id] = NEVER;
    // Added tokens are written as plain text, not in the vocabulary's byte encoding.
    else encoded[id] = type === 'byte_level' ? byteLevelEncode(content) : content;
  }
  const filled = Array.from(encoded, (token) => token ?? NEVER);
  return { encoded: filled, type, prependSpace: prependsSpace(json) };
}

function vocabType(json: JsonObject, model: JsonObject): VocabType {
  const decoders = flatten(json.decoder);
  if (decoders.some((decoder) => decoder.type === 'ByteLevel')) return 'byte_level';
  if (
    model.byte_fallback === true ||
    decoders.some((decoder) => decoder.type === 'ByteFallback' || decoder.type === 'Metaspace')
  )
    return 'byte_fallback';
  if (flatten(json.pre_tokenizer).some((step) => step.type === 'ByteLevel')) return 'byte_level';
  return 'raw';
}

function prependsSpace(json: JsonObject): boolean {
  const metaspace = flatten(json.pre_tokenizer).find((step) => step.type === 'Metaspace');
  if (metaspace) {
    if (metaspace.prepend_scheme !== undefined) return metaspace.prepend_scheme !== 'never';
    return metaspace.add_prefix_space === true;
  }
  return flatten(json.normalizer).some((step) => step.type === 'Prepend' && step.prepend === '▁');
}

/** A component and, for `Sequence`, its parts (decoders, pretokenizers, normalizers). */
function flatten(value: unknown): JsonObject[] {
  if (typeof value !== 'object' || value === null) return [];
  const component = object(value);
  const parts = [component.decoders, component.pretokenizers, component.normalizers].find(Array.isArray);
  return parts ? [component, ...parts.flatMap(flatten)] : [component];
}

function object(value: unknown): JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : {};
}

/** GPT-2's byte-to-character map (printable bytes stand for themselves). */
const BYTE_CHARS: readonly string[] = (() => {
  const chars: string[] = [];
  let extra = 0;
  for (let byte = 0; byte < 256; byte++) {
    const printable = (byte >= 33 && byte <= 126) || (byte >= 161 && byte <= 172) || byte >= 174;
    chars.push(String.fromCharCode(printable ? byte : 256 + extra++));
  }
  return chars;
})();

function byteLevelEncode(text: string): string {
  let encoded = '';
  for (const byte of new TextEncoder().encode(text)) encoded += BYTE_CHARS[byte] as string;
  return encoded;
}
