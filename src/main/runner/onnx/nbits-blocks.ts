// MatMulNBits' weight blocks, quantized as llama.cpp's Q8_0 / Q4_0 blocks are: symmetric blocks of
// 32 values along K per output column, one half-precision scale a block. Wider blocks (64, 128) are
// the same rounding over more values a scale.

/** Values of K in one weight block, as llama.cpp's Q8_0 / Q4_0 blocks hold. */
export const BLOCK_SIZE = 32;

/** The block sizes a rewrite may use: MatMulNBits takes powers of two from 16. */
export const BLOCK_SIZES = [32, 64, 128] as const;

/** One of BLOCK_SIZES. */
export type BlockSize = (typeof BLOCK_SIZES)[number];

/** MatMulNBits' blocks of a weight: per output column n, K in blocks of the block size. */
export interface NBitsWeight {
  /** [N, K / block, block · bits / 8]: 4-bit values two a byte (lower index in the low nibble). */
  readonly packed: Uint8Array;
  /** [N · K / 32] scales, rounded to half precision as GGUF's blocks store them. */
  readonly scales: Float32Array;
}

/**
 * Symmetric blocks of a [K, N] weight (MatMul's B) as llama.cpp quantizes them, stored unsigned
 * around MatMulNBits' default zero point (128 for 8 bits, 8 for 4): 8 bits as Q8_0 (d = max|w| /
 * 127, q = round(w / d)); 4 bits as Q4_0 (d = the value of largest magnitude / -8, q = w / d + 8
 * clamped to 0..15).
 */
export function quantizeBlocks(
  weight: Float32Array,
  k: number,
  n: number,
  bits: 4 | 8,
  blockSize: BlockSize = BLOCK_SIZE,
): NBitsWeight {
  return quantizeStrided(weight, k, n, bits, n, 1, blockSize);
}

/**
 * The same blocks of an [N, K] weight (Gemm's B under transB = 1, a tied LM head's embedding
 * table): each output row already holds its K values contiguously, as MatMulNBits stores them.
 */
export function quantizeRowBlocks(
  weight: Float32Array,
  k: number,
  n: number,
  bits: 4 | 8,
  blockSize: BlockSize = BLOCK_SIZE,
): NBitsWeight {
  return quantizeStrided(weight, k, n, bits, 1, k, blockSize);
}

/** Blocks of a weight whose value (row k, column n) is at `k · kStride + n · nStride`. */
function quantizeStrided(
  weight: Float32Array,
  k: number,
  n: number,
  bits: 4 | 8,
  kStride: number,
  nStride: number,
  size: BlockSize,
): NBitsWeight {
  const blocks = k / size;
  const blob = (size * bits) / 8;
  const packed = new Uint8Array(n * blocks * blob);
  const scales = new Float32Array(n * blocks);
  const values = new Float32Array(size);
  for (let column = 0; column < n; column++) {
    for (let block = 0; block < blocks; block++) {
      const start = block * size * kStride + column * nStride;
      for (let i = 0; i < size; i++) values[i] = weight[start + i * kStride] as number;
      const at = (column * blocks + block) * blob;
      if (bits === 8) {
        let largest = 0;
        for (const value of values) largest = Math.max(largest, Math.abs(value));
        const scale = largest / 127;
        const inverse = scale > 0 ? 1 / scale : 0;
        scales[column * blocks + block] = toHalfPrecision(scale);
        for (let i = 0; i < size; i++) packed[at + i] = roundAway((values[i] as number) * inverse) + 128;
      } else {
        let extreme = 0;
        for (const value of values) if (Math.abs(value) > Math.abs(extreme)) extreme = value;
        const scale = extreme / -8;
        const inverse = scale !== 0 ? 1 / scale : 0;
        scales[column * blocks + block] = toHalfPrecision(scale);
        for (let i = 0; i < size; i += 2) {
          const low = Math.min(15, Math.trunc((values[i] as number) * inverse + 8.5));
          const high = Math.min(15, Math.trunc((values[i + 1] as number) * inverse + 8.5));
          packed[at + i / 2] = low | (high << 4);
        }
      }
    }
  }
  return { packed, scales };
}

/** C's roundf: halves away from zero. */
function roundAway(value: number): number {
  return Math.sign(value) * Math.round(Math.abs(value));
}

const HALF = new Float32Array(1);
const HALF_BITS = new Uint32Array(HALF.buffer);

/** `value` rounded to the nearest half-precision number (ties to even), as a float. */
function toHalfPrecision(value: number): number {
  if (value === 0 || !Number.isFinite(value)) return value;
  HALF[0] = value;
  const exponent = ((HALF_BITS[0] as number) >>> 23) & 0xff;
  // Normal halves keep 10 mantissa bits; subnormals (exponent below 2^-14) keep fewer.
  const dropped = exponent >= 113 ? 13 : Math.min(24, 13 + (113 - exponent));
  const quantum = 2 ** (exponent - 127 - (23 - dropped));
  const steps = value / quantum;
  let rounded = Math.round(steps);
  // Math.round takes ties up; a tie that landed on an odd step goes to the even one below.
  if (Math.abs(steps % 1) === 0.5 && rounded % 2 !== 0) rounded -= 1;
  return rounded * quantum;
}
