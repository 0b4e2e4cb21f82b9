// Bilinear resizing of a float image, as ONNX's Resize (linear, half_pixel, no antialias) computes
// it: the operator transformers.js' interpolate_4d runs, so Lodge's tiles match its tiles.

/** A float image in channel-first order: `channels` planes of `height` × `width`. */
export interface PlanarImage {
  readonly data: Float32Array;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
}

/** Sample positions and weights along one axis: for each output index, two source indices. */
function axis(input: number, output: number): { low: Int32Array; high: Int32Array; weight: Float32Array } {
  const low = new Int32Array(output);
  const high = new Int32Array(output);
  const weight = new Float32Array(output);
  const scale = output / input;
  for (let index = 0; index < output; index++) {
    let source = (index + 0.5) / scale - 0.5;
    if (source < 0) source = 0;
    const floor = Math.min(Math.floor(source), input - 1);
    low[index] = floor;
    high[index] = Math.min(floor + 1, input - 1);
    weight[index] = Math.min(source - floor, 1);
  }
  return { low, high, weight };
}

/** `image` resized to `height` × `width`. */
export function resizeBilinear(image: PlanarImage, height: number, width: number): PlanarImage {
  if (height === image.height && width === image.width) return image;
  const rows = axis(image.height, height);
  const cols = axis(image.width, width);
  const out = new Float32Array(image.channels * height * width);
  const plane = image.height * image.width;
  for (let channel = 0; channel < image.channels; channel++) {
    const base = channel * plane;
    const target = channel * height * width;
    for (let y = 0; y < height; y++) {
      const top = base + (rows.low[y] as number) * image.width;
      const bottom = base + (rows.high[y] as number) * image.width;
      const wy = rows.weight[y] as number;
      for (let x = 0; x < width; x++) {
        const left = cols.low[x] as number;
        const right = cols.high[x] as number;
        const wx = cols.weight[x] as number;
        const upper =
          (image.data[top + left] as number) * (1 - wx) + (image.data[top + right] as number) * wx;
        const lower =
          (image.data[bottom + left] as number) * (1 - wx) + (image.data[bottom + right] as number) * wx;
        out[target + y * width + x] = upper * (1 - wy) + lower * wy;
      }
    }
  }
  return { data: out, channels: image.channels, height, width };
}

/** The rows `top..top+height` and columns `left..left+width` of `image`. */
export function crop(
  image: PlanarImage,
  top: number,
  left: number,
  height: number,
  width: number,
): PlanarImage {
  const out = new Float32Array(image.channels * height * width);
  for (let channel = 0; channel < image.channels; channel++) {
    for (let y = 0; y < height; y++) {
      const from = channel * image.height * image.width + (top + y) * image.width + left;
      out.set(image.data.subarray(from, from + width), channel * height * width + y * width);
    }
  }
  return { data: out, channels: image.channels, height, width };
}
