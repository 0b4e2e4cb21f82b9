import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageProgress } from '../../../shared/engine';
import type { Engine } from '../engine/engine';
import { LodgeError } from '../errors';
import type { GalleryImage } from '../../../shared/contract/images';
import type { Gallery } from './gallery';

/** The bounds of an image side in pixels; sides are multiples of 8 (the VAE's factor). */
export const MIN_SIDE = 64;
export const MAX_SIDE = 2048;
/** The most images one request may ask for. */
export const MAX_IMAGES = 10;
/** The most denoising steps one request may ask for. */
export const MAX_STEPS = 150;

/** What a client asks for, every API family alike; absent fields take the model's defaults. */
export interface ImageAsk {
  /** A model name; absent: the library's first image-generation model. */
  readonly model?: string | undefined;
  readonly prompt: string;
  readonly negativePrompt?: string | undefined;
  /** `WxH`, or `auto` / absent for the model's native size. */
  readonly size?: string | undefined;
  readonly count?: number | undefined;
  readonly seed?: number | undefined;
  readonly steps?: number | undefined;
  readonly guidanceScale?: number | undefined;
}

/** Generated images, each kept in the gallery, with their PNG bytes. */
export interface GeneratedImages {
  readonly model: string;
  readonly images: readonly { readonly entry: GalleryImage; readonly png: Uint8Array }[];
}

/**
 * Generates the images `ask` describes on the engine and keeps each one in the gallery. Sizes
 * are checked here (`param: size`), so every family refuses the same requests the same way.
 */
export async function generateImages(
  engine: Engine,
  gallery: Gallery,
  ask: ImageAsk,
  options: { signal?: AbortSignal; onProgress?: (progress: ImageProgress) => void } = {},
): Promise<GeneratedImages> {
  const name = ask.model ?? firstImageModel(engine);
  const { record } = engine.resolve(name);
  const { width, height } = parseSize(
    ask.size,
    record.task === 'text-to-image' ? nativeSide(record.dir) : 512,
  );
  const seed = ask.seed ?? randomInt(0, 2 ** 32 - 1);
  const negativePrompt = ask.negativePrompt ?? '';
  const result = await engine.generateImages(
    name,
    {
      prompt: ask.prompt,
      negativePrompt,
      width,
      height,
      count: ask.count ?? 1,
      seed,
      ...(ask.steps === undefined ? {} : { steps: ask.steps }),
      ...(ask.guidanceScale === undefined ? {} : { guidanceScale: ask.guidanceScale }),
    },
    {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    },
  );
  return {
    model: result.model,
    images: result.images.map((image) => ({
      png: image.png,
      entry: gallery.add(image.png, {
        model: result.model,
        prompt: ask.prompt,
        negativePrompt,
        width,
        height,
        steps: result.steps,
        guidanceScale: result.guidanceScale,
        seed: image.seed,
        scheduler: result.scheduler,
      }),
    })),
  };
}

/** `WxH` as numbers, each side a multiple of 8 within bounds; `auto` or absent is `native` square. */
export function parseSize(size: string | undefined, native: number): { width: number; height: number } {
  if (size === undefined || size === 'auto') return { width: native, height: native };
  const match = /^(\d{1,5})x(\d{1,5})$/.exec(size);
  const width = Number(match?.[1]);
  const height = Number(match?.[2]);
  const fits = (side: number) => side >= MIN_SIDE && side <= MAX_SIDE && side % 8 === 0;
  if (!match || !fits(width) || !fits(height))
    throw new LodgeError(
      'invalid_request',
      `size must be "WIDTHxHEIGHT" with each side a multiple of 8 from ${MIN_SIDE} to ${MAX_SIDE} (such as "512x512"), or "auto".`,
      { param: 'size' },
    );
  return { width, height };
}

/** The side the UNet was trained at (8 × its sample_size), 512 when its config does not say. */
function nativeSide(dir: string): number {
  try {
    const config = JSON.parse(readFileSync(join(dir, 'unet', 'config.json'), 'utf8')) as {
      sample_size?: unknown;
    };
    const side = typeof config.sample_size === 'number' ? config.sample_size * 8 : 512;
    return side >= MIN_SIDE && side <= MAX_SIDE && side % 8 === 0 ? side : 512;
  } catch {
    return 512;
  }
}

function firstImageModel(engine: Engine): string {
  const found = engine
    .models()
    .find((record) => record.task === 'text-to-image' && record.status === 'ready');
  if (!found)
    throw new LodgeError(
      'model_not_found',
      'No image-generation model is installed; add a Stable Diffusion ONNX export (or the demo models) and name it in model.',
      { param: 'model' },
    );
  return found.id;
}
