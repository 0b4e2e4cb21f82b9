// A language model's configuration: Hugging Face's config.json and generation_config.json, or, in
// an onnxruntime-genai / Foundry Local folder, the same facts read from genai_config.json.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RunnerError } from '../runner-error';
import { positiveInt, readJson, type JsonObject } from './model-files';

/** The config facts the runner reads, in config.json's field names, and the generation config. */
export interface ModelConfig {
  readonly config: JsonObject;
  readonly generation: JsonObject;
}

/** The tensor names onnxruntime-genai's builder gives a decoder: the only ones Lodge feeds. */
const GENAI_NAMES: Readonly<Record<string, string>> = {
  input_ids: 'input_ids',
  attention_mask: 'attention_mask',
  position_ids: 'position_ids',
  past_key_names: 'past_key_values.%d.key',
  past_value_names: 'past_key_values.%d.value',
  logits: 'logits',
  present_key_names: 'present.%d.key',
  present_value_names: 'present.%d.value',
};

const object = (value: unknown): JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : {};

/**
 * Reads config.json (required) and generation_config.json; in a folder with genai_config.json and
 * no config.json, maps genai's `model` and `model.decoder` fields onto config.json's names, and
 * caps the context at `search.max_length`. A genai decoder whose tensors are renamed is refused.
 */
export function readModelConfig(dir: string): ModelConfig {
  if (existsSync(join(dir, 'config.json')) || !existsSync(join(dir, 'genai_config.json')))
    return {
      config: readJson(dir, 'config.json', true),
      generation: readJson(dir, 'generation_config.json'),
    };
  const genai = readJson(dir, 'genai_config.json');
  const model = object(genai.model);
  const decoder = object(model.decoder);
  const search = object(genai.search);
  for (const [name, value] of Object.entries({ ...object(decoder.inputs), ...object(decoder.outputs) })) {
    const expected = GENAI_NAMES[name];
    if (expected !== undefined && value !== expected) {
      throw new RunnerError(
        'model_load_failed',
        `genai_config.json names the decoder's ${name} "${String(value)}"; Lodge feeds the builder's default "${expected}".`,
      );
    }
  }
  const context = positiveInt(model.context_length);
  const maxLength = positiveInt(search.max_length);
  const positions =
    context !== undefined && maxLength !== undefined ? Math.min(context, maxLength) : (context ?? maxLength);
  return {
    config: {
      model_type: model.type,
      vocab_size: model.vocab_size,
      hidden_size: decoder.hidden_size,
      num_hidden_layers: decoder.num_hidden_layers,
      num_attention_heads: decoder.num_attention_heads,
      num_key_value_heads: decoder.num_key_value_heads,
      head_dim: decoder.head_size,
      max_position_embeddings: positions,
      bos_token_id: model.bos_token_id,
      eos_token_id: model.eos_token_id,
      pad_token_id: model.pad_token_id,
    },
    generation: { eos_token_id: model.eos_token_id },
  };
}
