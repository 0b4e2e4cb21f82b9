// An Idefics3 / SmolVLM image processor's settings (preprocessor_config.json) and the processor's
// image prompt settings (processor_config.json), read once at load and checked.
import { positiveInt, readJson, type JsonObject } from '../model/model-files';
import { RunnerError } from '../runner-error';

/** How an image is resampled when first resized (PIL's codes, as preprocessor configs give them). */
export type Resample = 'nearest' | 'lanczos' | 'bilinear' | 'bicubic';

/** What the image processor does to an image, in the order it does it. */
export interface ImageConfig {
  /** The longest edge an image is resized to first (aspect kept); null: no resize. */
  readonly longestEdge: number | null;
  readonly resample: Resample;
  /** Multiplies 0–255 values (1/255 by default); null: no rescale. */
  readonly rescaleFactor: number | null;
  /** Per-channel mean and std; null: no normalization. */
  readonly normalize: { readonly mean: readonly number[]; readonly std: readonly number[] } | null;
  /** Split into tiles of `tile` pixels plus a global view; else one global view. */
  readonly splitting: boolean;
  /** The square tile the vision encoder takes (max_image_size.longest_edge). */
  readonly tile: number;
  /** Image tokens per tile (processor_config.json's image_seq_len). */
  readonly sequenceLength: number;
}

const RESAMPLE: Readonly<Record<number, Resample>> = {
  0: 'nearest',
  1: 'lanczos',
  2: 'bilinear',
  3: 'bicubic',
};

const object = (value: unknown): JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : {};

function channels(value: unknown, fallback: number): number[] {
  if (typeof value === 'number') return [value, value, value];
  if (Array.isArray(value) && value.length === 3 && value.every((item) => typeof item === 'number'))
    return value as number[];
  return [fallback, fallback, fallback];
}

/**
 * Reads the image settings of the model in `dir`, with the Idefics3 processor's defaults where a
 * field is absent; a folder without the tile size or the tokens per tile is refused, naming `name`.
 */
export function readImageConfig(dir: string, name: string, config: JsonObject): ImageConfig {
  const pre = readJson(dir, 'preprocessor_config.json', true);
  const processor = readJson(dir, 'processor_config.json');
  const vision = object(config.vision_config);
  const tile = positiveInt(object(pre.max_image_size).longest_edge) ?? positiveInt(vision.image_size);
  const patch = positiveInt(vision.patch_size);
  const scale = positiveInt(config.scale_factor) ?? 1;
  const sequenceLength =
    positiveInt(processor.image_seq_len) ??
    positiveInt(pre.image_seq_len) ??
    (tile !== undefined && patch !== undefined ? (tile / patch) ** 2 / scale ** 2 : undefined);
  if (tile === undefined || sequenceLength === undefined || !Number.isInteger(sequenceLength)) {
    throw new RunnerError(
      'model_load_failed',
      `${name} cannot be loaded: preprocessor_config.json gives no max_image_size.longest_edge, or processor_config.json no image_seq_len.`,
    );
  }
  const resample = typeof pre.resample === 'number' ? RESAMPLE[pre.resample] : undefined;
  if (pre.resample !== undefined && resample === undefined) {
    throw new RunnerError(
      'model_load_failed',
      `${name} asks preprocessor_config.json for resample ${String(pre.resample)}; Lodge resizes with 0 (nearest), 1 (lanczos), 2 (bilinear) or 3 (bicubic).`,
    );
  }
  return {
    longestEdge: pre.do_resize === false ? null : (positiveInt(object(pre.size).longest_edge) ?? tile * 4),
    resample: resample ?? 'bilinear',
    rescaleFactor:
      pre.do_rescale === false ? null : typeof pre.rescale_factor === 'number' ? pre.rescale_factor : 1 / 255,
    normalize:
      pre.do_normalize === false
        ? null
        : { mean: channels(pre.image_mean, 0.5), std: channels(pre.image_std, 0.5) },
    splitting: pre.do_image_splitting !== false,
    tile,
    sequenceLength,
  };
}
