// The two references Lodge's runner is held against: transformers.js, and a bare onnxruntime-node
// greedy loop written here that recomputes the whole sequence at every step (no KV cache at all),
// so a fault in how Lodge feeds, keeps or reads the cache cannot hide in both.
import { basename, dirname } from 'node:path';
import { AutoModelForCausalLM, AutoTokenizer, env, Tensor } from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import { lmFileName, type LanguageModelSpec } from '../../fixtures/models';

/** A chat message as both the runner and transformers.js take it. */
export interface Message {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

function useLocalFolder(dir: string): string {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = `${dirname(dir)}/`;
  return basename(dir);
}

/** The prompt token ids of `messages`, rendered and tokenized by transformers.js. */
export async function chatIds(dir: string, messages: readonly Message[]): Promise<number[]> {
  const tokenizer = await AutoTokenizer.from_pretrained(useLocalFolder(dir));
  const rendered: unknown = tokenizer.apply_chat_template([...messages], {
    add_generation_prompt: true,
    tokenize: true,
    return_tensor: false,
  });
  // 4.x returns { input_ids, attention_mask } here; older releases returned the ids alone.
  const ids: unknown =
    typeof rendered === 'object' && rendered !== null && 'input_ids' in rendered
      ? rendered.input_ids
      : rendered;
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'number'))
    throw new Error('apply_chat_template did not return token ids');
  return ids;
}

/** The token ids of `text` (special tokens written in it recognized, none added), by transformers.js. */
export async function textIds(dir: string, text: string): Promise<number[]> {
  const tokenizer = await AutoTokenizer.from_pretrained(useLocalFolder(dir));
  return tokenizer.encode(text, { add_special_tokens: false });
}

/** The text of `ids` without special tokens, decoded by transformers.js. */
export async function decodeIds(dir: string, ids: readonly number[]): Promise<string> {
  const tokenizer = await AutoTokenizer.from_pretrained(useLocalFolder(dir));
  return tokenizer.decode([...ids], { skip_special_tokens: true });
}

function argmax(values: ArrayLike<number>, from: number, length: number): number {
  let best = 0;
  for (let index = 1; index < length; index++)
    if ((values[from + index] as number) > (values[from + best] as number)) best = index;
  return best;
}

/**
 * Greedy tokens after `prompt` from a bare onnxruntime loop: each step feeds the whole sequence with
 * an empty past, and reads the logits of the last position. Stops at an id in `eos`.
 */
export async function bareGreedy(
  modelFile: string,
  prompt: readonly number[],
  maxNew: number,
  eos: ReadonlySet<number>,
): Promise<number[]> {
  const session = await ort.InferenceSession.create(modelFile, { intraOpNumThreads: 1 });
  try {
    const sequence = [...prompt];
    const generated: number[] = [];
    while (generated.length < maxNew) {
      const length = sequence.length;
      const feeds: Record<string, ort.Tensor> = {};
      for (const input of session.inputMetadata) {
        if (!input.isTensor) throw new Error(`${input.name} is not a tensor`);
        const { name } = input;
        const ints = (values: number[]) =>
          input.type === 'int32'
            ? new ort.Tensor('int32', Int32Array.from(values), [1, length])
            : new ort.Tensor('int64', BigInt64Array.from(values, BigInt), [1, length]);
        if (name === 'input_ids') feeds[name] = ints(sequence);
        else if (name === 'attention_mask') feeds[name] = ints(sequence.map(() => 1));
        else if (name === 'position_ids') feeds[name] = ints(sequence.map((_, index) => index));
        else if (name === 'num_logits_to_keep' || name === 'logits_to_keep')
          feeds[name] = new ort.Tensor('int64', BigInt64Array.of(1n), []);
        else if (name === 'use_cache_branch') feeds[name] = new ort.Tensor('bool', Uint8Array.of(0), [1]);
        else if (name.startsWith('past_key_values.')) {
          const dims = input.shape.map((dim, axis) => (axis === 2 ? 0 : typeof dim === 'number' ? dim : 1));
          feeds[name] =
            input.type === 'float16'
              ? new ort.Tensor('float16', new Uint16Array(0), dims)
              : new ort.Tensor('float32', new Float32Array(0), dims);
        } else throw new Error(`the bare loop does not feed ${name}`);
      }
      const { logits } = await session.run(feeds, ['logits']);
      if (!logits) throw new Error('no logits');
      const vocab = logits.dims.at(-1) as number;
      // In-process, Node 24 hands fp16 logits over as a Float16Array: its elements are numbers.
      const values = logits.data as ArrayLike<number>;
      const next = argmax(values, values.length - vocab, vocab);
      generated.push(next);
      if (eos.has(next)) break;
      sequence.push(next);
    }
    return generated;
  } finally {
    await session.release();
  }
}

/** The transformers.js options that load the variant file `spec` writes. */
function variantOptions(spec: LanguageModelSpec): Record<string, unknown> {
  const file = lmFileName(spec);
  const dtype = file.includes('_q4f16')
    ? 'q4f16'
    : file.includes('_q4')
      ? 'q4'
      : file.includes('_quantized')
        ? 'q8'
        : file.includes('_fp16')
          ? 'fp16'
          : 'fp32';
  const external = spec.externalFiles ?? (spec.externalData ? 1 : 0);
  return {
    dtype,
    device: 'cpu',
    ...(spec.merged ? { model_file_name: 'decoder_model_merged' } : {}),
    ...(external > 0 ? { use_external_data_format: external === 1 ? true : external } : {}),
    session_options: { intraOpNumThreads: 1, interOpNumThreads: 1 },
  };
}

/** Greedy tokens after `prompt` from transformers.js' own generate() (with its KV cache). */
export async function transformersGreedy(
  dir: string,
  spec: LanguageModelSpec,
  prompt: readonly number[],
  maxNew: number,
): Promise<number[]> {
  const model = await AutoModelForCausalLM.from_pretrained(useLocalFolder(dir), variantOptions(spec));
  try {
    const ids = new Tensor('int64', BigInt64Array.from(prompt, BigInt), [1, prompt.length]);
    const mask = new Tensor('int64', new BigInt64Array(prompt.length).fill(1n), [1, prompt.length]);
    const output = await model.generate({
      input_ids: ids,
      attention_mask: mask,
      max_new_tokens: maxNew,
      do_sample: false,
      repetition_penalty: 1,
    });
    const all = (output as Tensor).tolist() as bigint[][] | number[][];
    return (all[0] ?? []).slice(prompt.length).map(Number);
  } finally {
    await model.dispose();
  }
}

/**
 * Greedy tokens after `prompt` from transformers.js with the model's generation_config.json as it
 * stands (its repetition penalty included), the way a client of the OpenAI API expects it applied.
 */
export async function transformersGreedyWithModelDefaults(
  dir: string,
  prompt: readonly number[],
  maxNew: number,
): Promise<number[]> {
  const model = await AutoModelForCausalLM.from_pretrained(useLocalFolder(dir), {
    dtype: 'fp32',
    device: 'cpu',
    session_options: { intraOpNumThreads: 1, interOpNumThreads: 1 },
  });
  try {
    const ids = new Tensor('int64', BigInt64Array.from(prompt, BigInt), [1, prompt.length]);
    const mask = new Tensor('int64', new BigInt64Array(prompt.length).fill(1n), [1, prompt.length]);
    const output = await model.generate({
      input_ids: ids,
      attention_mask: mask,
      max_new_tokens: maxNew,
      do_sample: false,
    });
    const all = (output as Tensor).tolist() as bigint[][] | number[][];
    return (all[0] ?? []).slice(prompt.length).map(Number);
  } finally {
    await model.dispose();
  }
}
