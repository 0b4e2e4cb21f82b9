// transformers.js as the reference for vision-language models: its Idefics3 processor (resize,
// tiling, normalization, the expanded image prompt) and its generate() on the same folder.
import { basename, dirname } from 'node:path';
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
  const text = processor.apply_chat_template([...messages] as never, { add_generation_prompt: true });
  const raw = await Promise.all(images.map((bytes) => RawImage.fromBlob(new Blob([new Uint8Array(bytes)]))));
  const inputs = (await processor(text, raw)) as Record<string, Tensor>;
  const ids = inputs.input_ids as Tensor;
  const pixels = inputs.pixel_values as Tensor;
  return {
    ids: Array.from(ids.data as BigInt64Array, Number),
    pixels: pixels.data as Float32Array,
    dims: pixels.dims,
    inputs,
  };
}

/** transformers.js' greedy tokens for `messages` with `images` (the prompt excluded). */
export async function transformersVisionGreedy(
  dir: string,
  messages: readonly PartsMessage[],
  images: readonly Uint8Array[],
  maxNew: number,
): Promise<number[]> {
  const { ids, inputs } = await transformersInputs(dir, messages, images);
  const model = await AutoModelForVision2Seq.from_pretrained(useLocalFolder(dir), { dtype: 'fp32' });
  try {
    const output = (await model.generate({ ...inputs, max_new_tokens: maxNew, do_sample: false })) as Tensor;
    return Array.from(output.data as BigInt64Array, Number).slice(ids.length);
  } finally {
    await model.dispose();
  }
}
