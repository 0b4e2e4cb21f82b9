// The Idefics3 / SmolVLM image processor: decode (sharp), resize the longest edge, rescale and
// normalize, then resize to whole tiles and split into tiles plus a global view (or one global
// view), in the order and arithmetic transformers.js' Idefics3ImageProcessor uses.
import sharp from 'sharp';
import { RunnerError } from '../runner-error';
import { crop, resizeBilinear, type PlanarImage } from './bilinear';
import type { ImageConfig } from './image-config';

/** The formats Lodge decodes: what chat clients send. */
const FORMATS = new Set(['png', 'jpeg', 'webp', 'gif']);
/** The largest image, in pixels, that is decoded at all (a 8K photo is 33 Mpx). */
export const MAX_IMAGE_PIXELS = 40_000_000;

/** One image made ready for the vision encoder. */
export interface ProcessedImage {
  /** Tiles in row-major order then the global view (or the global view alone), each 3 × tile × tile. */
  readonly tiles: readonly Float32Array[];
  /** Tile rows and columns; 0 and 0 when the image was not split. */
  readonly rows: number;
  readonly cols: number;
}

/** An 8-bit interleaved image. */
interface RawImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
}

async function raw(image: ReturnType<typeof sharp>): Promise<RawImage> {
  const { data, info } = await image.rotate().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** Decodes `bytes` into 8-bit RGB, refusing what is not a png, jpeg, webp or gif image. */
async function decode(bytes: Uint8Array, index: number): Promise<RawImage> {
  let decoded: RawImage;
  try {
    const image = sharp(bytes, { limitInputPixels: MAX_IMAGE_PIXELS, failOn: 'error' });
    const { format } = await image.metadata();
    if (format === undefined || !FORMATS.has(format)) {
      throw new RunnerError(
        'invalid_request',
        `Image ${index + 1} is ${format ?? 'not an image'}; Lodge reads png, jpeg, webp and gif images.`,
      );
    }
    decoded = await raw(image);
  } catch (error) {
    if (error instanceof RunnerError) throw error;
    const text = error instanceof Error ? error.message : String(error);
    throw new RunnerError(
      'invalid_request',
      /pixel limit/i.test(text)
        ? `Image ${index + 1} is larger than ${MAX_IMAGE_PIXELS / 1_000_000} million pixels; send a smaller one.`
        : `Image ${index + 1} could not be decoded (${text}); send a png, jpeg, webp or gif image.`,
    );
  }
  return rgb(decoded);
}

function rgb(image: RawImage): RawImage {
  if (image.channels === 3) return image;
  const pixels = image.width * image.height;
  const data = new Uint8Array(pixels * 3);
  for (let pixel = 0; pixel < pixels; pixel++) {
    for (let channel = 0; channel < 3; channel++)
      data[pixel * 3 + channel] = image.data[
        pixel * image.channels + (image.channels < 3 ? 0 : channel)
      ] as number;
  }
  return { data, width: image.width, height: image.height, channels: 3 };
}

/** The size the longest-edge resize gives (transformers.js' get_resize_output_image_size). */
function longestEdgeSize(width: number, height: number, longest: number): { width: number; height: number } {
  const factor = Math.min(longest / width, longest / height);
  return {
    width: Math.floor(Number((width * factor).toFixed(2))),
    height: Math.floor(Number((height * factor).toFixed(2))),
  };
}

async function resize(
  image: RawImage,
  width: number,
  height: number,
  config: ImageConfig,
): Promise<RawImage> {
  if (image.width === width && image.height === height) return image;
  const source = sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
  // NOTE: as transformers.js does in Node: lanczos by sharp's resize, the others by an affine
  // transform (which matches how Pillow samples).
  const resized =
    config.resample === 'lanczos'
      ? source.resize({ width, height, fit: 'fill', kernel: 'lanczos3' })
      : source.affine([width / image.width, 0, 0, height / image.height], { interpolator: config.resample });
  return rgb(await raw(resized));
}

/** Rescaled and normalized, channel-first; each step rounded to float32, as transformers.js stores it. */
function planar(image: RawImage, config: ImageConfig): PlanarImage {
  const { width, height } = image;
  const values = Float32Array.from(image.data);
  if (config.rescaleFactor !== null) {
    const factor = config.rescaleFactor;
    for (let index = 0; index < values.length; index++) values[index] = factor * (values[index] as number);
  }
  if (config.normalize !== null) {
    const { mean, std } = config.normalize;
    for (let index = 0; index < values.length; index += 3) {
      for (let channel = 0; channel < 3; channel++)
        values[index + channel] =
          ((values[index + channel] as number) - (mean[channel] as number)) / (std[channel] as number);
    }
  }
  const data = new Float32Array(values.length);
  const plane = width * height;
  for (let pixel = 0; pixel < plane; pixel++)
    for (let channel = 0; channel < 3; channel++)
      data[channel * plane + pixel] = values[pixel * 3 + channel] as number;
  return { data, channels: 3, height, width };
}

/** The size that holds whole tiles with the aspect ratio kept (get_resize_for_vision_encoder). */
function tiledSize(image: PlanarImage, tile: number): { height: number; width: number } {
  let { height, width } = image;
  const aspect = width / height;
  if (width >= height) {
    width = Math.ceil(width / tile) * tile;
    height = Math.ceil(Math.floor(width / aspect) / tile) * tile;
  } else {
    height = Math.ceil(height / tile) * tile;
    width = Math.ceil(Math.floor(height * aspect) / tile) * tile;
  }
  return { height, width };
}

function split(image: PlanarImage, tile: number): ProcessedImage {
  const { height, width } = image;
  if (height <= tile && width <= tile) return { tiles: [image.data], rows: 0, cols: 0 };
  const rows = Math.ceil(height / tile);
  const cols = Math.ceil(width / tile);
  const tileHeight = Math.ceil(height / rows);
  const tileWidth = Math.ceil(width / cols);
  const tiles: Float32Array[] = [];
  for (let row = 0; row < rows; row++) {
    for (let col = 0; col < cols; col++) {
      const top = row === rows - 1 ? height - tileHeight : row * tileHeight;
      const left = col === cols - 1 ? width - tileWidth : col * tileWidth;
      tiles.push(crop(image, top, left, tileHeight, tileWidth).data);
    }
  }
  tiles.push(resizeBilinear(image, tile, tile).data);
  return { tiles, rows, cols };
}

/**
 * Prepares the encoded image `bytes` (the `index`th of the request, for messages) as the model's
 * processor config says. Throws `invalid_request` for what cannot be decoded or is too large.
 */
export async function processImage(
  bytes: Uint8Array,
  index: number,
  config: ImageConfig,
): Promise<ProcessedImage> {
  let image = await decode(bytes, index);
  if (config.longestEdge !== null) {
    const size = longestEdgeSize(image.width, image.height, config.longestEdge);
    image = await resize(image, Math.max(1, size.width), Math.max(1, size.height), config);
  }
  const floats = planar(image, config);
  const { tile } = config;
  if (!config.splitting) return { tiles: [resizeBilinear(floats, tile, tile).data], rows: 0, cols: 0 };
  const size = tiledSize(floats, tile);
  return split(resizeBilinear(floats, size.height, size.width), tile);
}

/** The text that stands for one image in the prompt (the Idefics3 processor's expansion of `<image>`). */
export function imagePrompt(image: ProcessedImage, sequenceLength: number): string {
  const tokens = '<image>'.repeat(sequenceLength);
  const global = `<fake_token_around_image><global-img>${tokens}<fake_token_around_image>`;
  if (image.rows === 0 && image.cols === 0) return global;
  let text = '';
  for (let row = 0; row < image.rows; row++) {
    for (let col = 0; col < image.cols; col++)
      text += `<fake_token_around_image><row_${row + 1}_col_${col + 1}>${tokens}`;
    text += '\n';
  }
  return `${text}\n${global}`;
}
