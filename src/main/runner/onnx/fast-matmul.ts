// onnxruntime's fast CPU paths for a model's matrix products: MatMulNBits with accuracy_level 4
// (int8 activations against 4- or 8-bit weight blocks, MLAS' integer kernels). Rewrites a graph so
// (a) MatMulNBits nodes that ask for float accuracy (levels 0-3) take the integer path, and (b)
// fp32 MatMuls over a constant weight become MatMulNBits of `bits`, symmetric blocks of 32 along K
// quantized as llama.cpp's Q8_0 / Q4_0 blocks are (so both engines can hold the same weights).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';

/** Values of K in one weight block. */
export const BLOCK_SIZE = 32;
/** MatMulNBits' integer compute path: int8 activations (quantized per block) against the weights. */
const ACCURACY_INT8 = 4;
const MS_DOMAIN = 'com.microsoft';
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const UINT8 = onnx.TensorProto.DataType.UINT8;
const EXTERNAL = onnx.TensorProto.DataLocation.EXTERNAL;

/** How a graph's matrix products are rewritten. */
export interface FastMatMulOptions {
  /** Quantize fp32 MatMul weights to this many bits, or leave them (null): MatMulNBits nodes still switch. */
  readonly bits: 4 | 8 | null;
  /** Bits for the LM head (an initializer named `lm_head…`), which quantizes worse; default `bits`. */
  readonly headBits?: 4 | 8;
}

/** What a rewrite changed. */
export interface FastMatMulResult {
  readonly model: Uint8Array;
  /** fp32 MatMuls made MatMulNBits. */
  readonly quantized: number;
  /** MatMulNBits nodes switched to accuracy_level 4. */
  readonly switched: number;
}

/** Rewrites the ONNX model `bytes` (weights inside the file) for onnxruntime's integer MatMul paths. */
export function fastMatMuls(bytes: Uint8Array, options: FastMatMulOptions): FastMatMulResult {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph;
  if (!graph) throw new Error('the model has no graph');
  // NOTE: a graph with external weights stays as it is: a rewritten copy elsewhere would lose them.
  if ((graph.initializer ?? []).some((tensor) => tensor.dataLocation === EXTERNAL))
    return { model: bytes, quantized: 0, switched: 0 };
  const nodes = graph.node ?? [];
  let switched = 0;
  for (const node of nodes) {
    if (node.opType !== 'MatMulNBits' || node.domain !== MS_DOMAIN) continue;
    const attributes = node.attribute ?? [];
    const level = attributes.find((attribute) => attribute.name === 'accuracy_level');
    if (level && Number(level.i) >= ACCURACY_INT8) continue;
    node.attribute = [
      ...attributes.filter((attribute) => attribute.name !== 'accuracy_level'),
      intAttribute('accuracy_level', ACCURACY_INT8),
    ];
    switched++;
  }
  let quantized = 0;
  if (options.bits !== null) {
    const initializers = new Map((graph.initializer ?? []).map((tensor) => [tensor.name ?? '', tensor]));
    const uses = new Map<string, number>();
    for (const node of nodes)
      for (const input of node.input ?? []) uses.set(input, (uses.get(input) ?? 0) + 1);
    const added: onnx.ITensorProto[] = [];
    const replaced = new Set<string>();
    for (const node of nodes) {
      const input = node.input ?? [];
      const weight = node.opType === 'MatMul' && !node.domain ? initializers.get(input[1] ?? '') : undefined;
      const name = weight?.name ?? '';
      if (!weight || !quantizable(weight) || uses.get(name) !== 1) continue;
      const [k, n] = (weight.dims ?? []).map(Number) as [number, number];
      const bits = name.startsWith('lm_head') ? (options.headBits ?? options.bits) : options.bits;
      const blocks = quantizeBlocks(floats(weight), k, n, bits);
      added.push(
        {
          name: `${name}.nbits_weight`,
          dataType: UINT8,
          dims: [n, k / BLOCK_SIZE, (BLOCK_SIZE * bits) / 8],
          rawData: blocks.packed,
        },
        {
          name: `${name}.nbits_scales`,
          dataType: FLOAT,
          dims: [n * (k / BLOCK_SIZE)],
          rawData: new Uint8Array(blocks.scales.buffer),
        },
      );
      node.opType = 'MatMulNBits';
      node.domain = MS_DOMAIN;
      node.input = [input[0] ?? '', `${name}.nbits_weight`, `${name}.nbits_scales`];
      node.attribute = [
        intAttribute('K', k),
        intAttribute('N', n),
        intAttribute('bits', bits),
        intAttribute('block_size', BLOCK_SIZE),
        intAttribute('accuracy_level', ACCURACY_INT8),
      ];
      replaced.add(name);
      quantized++;
    }
    graph.initializer = [
      ...(graph.initializer ?? []).filter((tensor) => !replaced.has(tensor.name ?? '')),
      ...added,
    ];
  }
  const opsets = model.opsetImport ?? [];
  if ((switched > 0 || quantized > 0) && !opsets.some((entry) => entry.domain === MS_DOMAIN))
    model.opsetImport = [...opsets, { domain: MS_DOMAIN, version: 1 }];
  return { model: onnx.ModelProto.encode(model).finish(), quantized, switched };
}

/**
 * The rewritten model of `modelFile` in `cacheDir` (made once, keyed by the file's path, size and
 * time and the options), or `modelFile` itself where the rewrite changes nothing.
 */
export function fastMatMulFile(modelFile: string, cacheDir: string, options: FastMatMulOptions): string {
  const stat = statSync(modelFile);
  const key = createHash('sha256')
    .update(JSON.stringify([modelFile, stat.size, stat.mtimeMs, options]))
    .digest('hex')
    .slice(0, 24);
  const file = join(cacheDir, `${key}.nbits.onnx`);
  const unchanged = `${file}.unchanged`;
  if (existsSync(file)) return file;
  if (existsSync(unchanged)) return modelFile;
  mkdirSync(cacheDir, { recursive: true });
  const result = fastMatMuls(readFileSync(modelFile), options);
  const changed = result.quantized > 0 || result.switched > 0;
  const partial = `${changed ? file : unchanged}.partial-${process.pid}`;
  writeFileSync(partial, changed ? result.model : '');
  renameSync(partial, changed ? file : unchanged);
  return changed ? file : modelFile;
}

/** A [K, N] fp32 weight held in the file, K a whole number of blocks. */
function quantizable(tensor: onnx.ITensorProto): boolean {
  const dims = tensor.dims?.map(Number) ?? [];
  return (
    tensor.dataType === FLOAT &&
    dims.length === 2 &&
    (dims[0] as number) % BLOCK_SIZE === 0 &&
    tensor.dataLocation !== EXTERNAL &&
    ((tensor.rawData?.length ?? 0) > 0 || (tensor.floatData?.length ?? 0) > 0)
  );
}

function floats(tensor: onnx.ITensorProto): Float32Array {
  if (tensor.rawData && tensor.rawData.length > 0)
    return new Float32Array(Uint8Array.from(tensor.rawData).buffer);
  return Float32Array.from(tensor.floatData ?? []);
}

function intAttribute(name: string, value: number): onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i: value };
}

/** MatMulNBits' blocks of a [K, N] weight: per output column n, K in blocks of 32. */
export interface NBitsWeight {
  /** [N, K / 32, 32 · bits / 8]: 4-bit values two a byte (lower index in the low nibble). */
  readonly packed: Uint8Array;
  /** [N · K / 32] scales, rounded to half precision as GGUF's blocks store them. */
  readonly scales: Float32Array;
}

/**
 * Symmetric blocks as llama.cpp quantizes them, stored unsigned around MatMulNBits' default zero
 * point (128 for 8 bits, 8 for 4): 8 bits as Q8_0 (d = max|w| / 127, q = round(w / d)); 4 bits as
 * Q4_0 (d = the value of largest magnitude / -8, q = w / d + 8 clamped to 0..15).
 */
export function quantizeBlocks(weight: Float32Array, k: number, n: number, bits: 4 | 8): NBitsWeight {
  const blocks = k / BLOCK_SIZE;
  const blob = (BLOCK_SIZE * bits) / 8;
  const packed = new Uint8Array(n * blocks * blob);
  const scales = new Float32Array(n * blocks);
  const values = new Float32Array(BLOCK_SIZE);
  for (let column = 0; column < n; column++) {
    for (let block = 0; block < blocks; block++) {
      for (let i = 0; i < BLOCK_SIZE; i++)
        values[i] = weight[(block * BLOCK_SIZE + i) * n + column] as number;
      const at = (column * blocks + block) * blob;
      if (bits === 8) {
        let largest = 0;
        for (const value of values) largest = Math.max(largest, Math.abs(value));
        const scale = largest / 127;
        const inverse = scale > 0 ? 1 / scale : 0;
        scales[column * blocks + block] = toHalfPrecision(scale);
        for (let i = 0; i < BLOCK_SIZE; i++)
          packed[at + i] = roundAway((values[i] as number) * inverse) + 128;
      } else {
        let extreme = 0;
        for (const value of values) if (Math.abs(value) > Math.abs(extreme)) extreme = value;
        const scale = extreme / -8;
        const inverse = scale !== 0 ? 1 / scale : 0;
        scales[column * blocks + block] = toHalfPrecision(scale);
        for (let i = 0; i < BLOCK_SIZE; i += 2) {
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
