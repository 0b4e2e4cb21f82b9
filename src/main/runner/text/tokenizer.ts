// The model's tokenizer (@huggingface/tokenizers) with the special tokens its config names.
import { Tokenizer } from '@huggingface/tokenizers';
import { readJson, specialTokenText, type JsonObject } from '../model/model-files';
import { RunnerError } from '../runner-error';

/** A loaded tokenizer and the facts about it the engine needs. */
export class TextTokenizer {
  readonly #tokenizer: Tokenizer;
  readonly config: JsonObject;
  /** Every special token id: never shown in output text. */
  readonly specialIds: ReadonlySet<number>;
  /** The parsed tokenizer.json (grammar-constrained decoding reads its vocabulary). */
  readonly json: JsonObject;

  private constructor(tokenizer: Tokenizer, config: JsonObject, json: JsonObject) {
    this.#tokenizer = tokenizer;
    this.config = config;
    this.json = json;
    this.specialIds = new Set(tokenizer.get_added_tokens_decoder().keys());
  }

  /** Loads `tokenizer.json` and `tokenizer_config.json` from a model folder. */
  static load(dir: string): TextTokenizer {
    const json = readJson(dir, 'tokenizer.json', true);
    const config = readJson(dir, 'tokenizer_config.json');
    try {
      return new TextTokenizer(new Tokenizer(json, config), config, json);
    } catch (error) {
      throw new RunnerError(
        'model_load_failed',
        `The model's tokenizer.json cannot be used: ${(error as Error).message}`,
      );
    }
  }

  /** Token ids of `text`; special tokens written in the text (from a chat template) are recognized. */
  encode(text: string, addSpecialTokens = false): number[] {
    return this.#tokenizer.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  }

  /** Token ids and type ids with the model's special tokens added (for encoders). */
  encodeForEncoder(text: string): { ids: number[]; typeIds: number[] } {
    const encoding = this.#tokenizer.encode(text, { add_special_tokens: true, return_token_type_ids: true });
    return { ids: encoding.ids, typeIds: encoding.token_type_ids };
  }

  /** Text of `ids`, without special tokens. */
  decode(ids: readonly number[]): string {
    if (ids.length === 0) return '';
    return this.#tokenizer.decode([...ids], {
      skip_special_tokens: true,
      clean_up_tokenization_spaces: false,
    });
  }

  /** The text of one token as the vocabulary spells it (for logprobs), or `<id>` when it has none. */
  tokenText(id: number): string {
    return this.decode([id]) || this.#tokenizer.id_to_token(id) || `<${id}>`;
  }

  /** The id of a token, if the vocabulary has it. */
  idOf(token: string): number | undefined {
    return this.#tokenizer.token_to_id(token);
  }

  /** The text of a special token named in tokenizer_config (`eos_token`, `pad_token`, …). */
  special(name: string): string | null {
    return specialTokenText(this.config[name]);
  }
}
