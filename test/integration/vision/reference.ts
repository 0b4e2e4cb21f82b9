// transformers.js as the reference for vision-language models: its Idefics3 processor (resize,
// tiling, normalization, the expanded image prompt) and its generate() on the same folder.
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { AutoModelForVision2Seq, AutoProcessor, env, RawImage, type Tensor } from '@huggingface/transformers';

/** A chat message with content parts, as transformers.js' apply_chat_template takes it. */
export interface PartsMessage {
  readonly role: 'user' | 'assistant' | 'system';
  readonly content: readonly (
    { readonly type: 'text'; readonly text: string } | { readonly type: 'image' }
  )[];
}

function useLocalFolder(dir: string): string {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = `${dirname(dir)}/`;
  return basename(dir);
}

/** What transformers.js' processor makes of `messages` and `images`: ids, pixel values and their dims. */
export async function transformersInputs(
  dir: string,
  messages: readonly PartsMessage[],
  images: readonly Uint8Array[],
): Promise<{ ids: number[]; pixels: Float32Array; dims: number[]; inputs: Record<string, Tensor> }> {
  const processor = await AutoProcessor.from_pretrained(useLocalFolder(dir));
  // The model's chat template, rendered the way apply_chat_template renders it (its types take
  // string content only; SmolVLM's template reads content as parts).
  const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as {
    chat_template: string;
  };
  const text = new Template(config.chat_template).render({
    messages: [...messages],
    add_generation_prompt: true,
  });
  const raw = await Promise.all(images.map((bytes) => RawImage.fromBlob(new Blob([new Uint8Array(bytes)]))));
  // The Idefics3 processor needs images; text alone goes through its tokenizer, as the model's own.
  const inputs = (raw.length > 0 ? await processor(text, raw) : processor.tokenizer?.(text)) as Record<
    string,
    Tensor
  >;
  const ids = inputs.input_ids as Tensor;
  const pixels = inputs.pixel_values as Tensor | undefined;
  return {
    ids: Array.from(ids.data as BigInt64Array, Number),
    pixels: (pixels?.data as Float32Array | undefined) ?? new Float32Array(0),
    dims: pixels?.dims ?? [],
    inputs,
  };
}

/** transformers.js' greedy tokens for `messages` with `images` (the prompt excluded), on the `dtype` variant. */
export async function transformersVisionGreedy(
  dir: string,
  messages: readonly PartsMessage[],
  images: readonly Uint8Array[],
  maxNew: number,
  dtype: 'fp32' | 'fp16' | 'q4f16' = 'fp32',
): Promise<number[]> {
  const { ids, inputs } = await transformersInputs(dir, messages, images);
  const model = await AutoModelForVision2Seq.from_pretrained(useLocalFolder(dir), { dtype });
  try {
    const output = (await model.generate({ ...inputs, max_new_tokens: maxNew, do_sample: false })) as Tensor;
    return Array.from(output.data as BigInt64Array, Number).slice(ids.length);
  } finally {
    await model.dispose();
  }
}
