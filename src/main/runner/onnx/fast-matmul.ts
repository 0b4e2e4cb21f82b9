// onnxruntime's fast CPU paths for a model's matrix products: MatMulNBits with accuracy_level 4
// (int8 activations against 4- or 8-bit weight blocks, MLAS' integer kernels). Rewrites a graph so
// (a) MatMulNBits nodes that ask for float accuracy (levels 0-3) take the integer path, and (b)
// float32 and float16 MatMuls and Gemms over a constant weight become MatMulNBits of `bits`,
// symmetric blocks of 32 along K quantized as llama.cpp's Q8_0 / Q4_0 blocks are (so both engines
// can hold the same weights), or of 64 / 128 where the options ask (fewer scales, faster kernels). A tied LM head (Gemm over the embedding table with transB = 1, or
// MatMul over its Transpose) gets a quantized copy; the embedding lookup keeps the float table.
// This file is the rewrite's front: bytes in memory, or a model file and its data files written
// once into the cache dir; the graph surgery is matmul-rewrite.ts.
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { onnx } from 'onnx-proto';
import { BLOCK_SIZE } from './nbits-blocks';
import { copyBuffer, DataFileWriter, ExternalReader, isExternal } from './external-data';
import { parseReport, type FastMatMulReport } from './fast-matmul-report';
import {
  changed,
  DEFAULT_HEAD_BITS,
  embeddedBytes,
  rewrite,
  tensorsOf,
  type FastMatMulOptions,
} from './matmul-rewrite';

export {
  BLOCK_SIZE,
  BLOCK_SIZES,
  quantizeBlocks,
  quantizeRowBlocks,
  type BlockSize,
  type NBitsWeight,
} from './nbits-blocks';
export {
  describeFastMatMuls,
  type FastMatMulReport,
  type LeftMatMul,
  type LeftReason,
} from './fast-matmul-report';
export type { FastMatMulOptions } from './matmul-rewrite';

/** Initializers of this many bytes and more go to the rewritten model's data file. */
const EXTERNAL_MIN_BYTES = 1024;
/** Bumped when the rewrite's output changes, so cached rewrites of older code are not reused. */
const REWRITE_VERSION = 3;

/**
 * The rewrite the `quantize` setting asks for: matrix weights in llama.cpp's blocks of 32 at 8 or 4
 * bits, the LM head at 8 either way (it loses most to rounding; llama.cpp's 4-bit files keep theirs
 * at 6 bits or more).
 */
export function quantizeOptions(quantize: 'q8' | 'q4'): FastMatMulOptions {
  return { bits: quantize === 'q8' ? 8 : 4, headBits: 8 };
}

/** What a rewrite changed, and the rewritten model. */
export interface FastMatMulResult extends FastMatMulReport {
  readonly model: Uint8Array;
}

/**
 * Rewrites the ONNX model `bytes` for onnxruntime's integer MatMul paths, in memory. Weights in
 * external data files cannot be read from here: their MatMuls are left (reason `external`) and the
 * result still names those files relative to its own folder; `fastMatMulFile` reads them.
 */
export function fastMatMuls(bytes: Uint8Array, options: FastMatMulOptions): FastMatMulResult {
  const model = onnx.ModelProto.decode(bytes);
  const report = rewrite(model, options, {
    readable: (tensor) => !isExternal(tensor),
    bytes: embeddedBytes,
    place: (tensor, data) => {
      tensor.rawData = data;
    },
  });
  if (!changed(report)) return { model: bytes, ...report };
  return { model: onnx.ModelProto.encode(model).finish(), ...report };
}

/**
 * The rewritten model of `modelFile` in `cacheDir`, or `modelFile` itself where the rewrite changes
 * nothing. Made once, keyed by the options and the size and time of the model file and of its
 * data files beside it (`x.onnx_data`, `x.onnx_data_1`, …, `x.onnx.data`); written as
 * `<key>.nbits.onnx` with every weight of 1 KiB and more in `<key>.nbits.onnx.data` beside it,
 * external weights read a tensor at a time from the model's folder (never from outside it).
 * `onReport` hears what was changed and what was left, on a cached rewrite too.
 */
export function fastMatMulFile(
  modelFile: string,
  cacheDir: string,
  options: FastMatMulOptions,
  onReport?: (report: FastMatMulReport) => void,
): string {
  const file = join(cacheDir, `${cacheKey(modelFile, options)}.nbits.onnx`);
  const reportFile = `${file}.json`;
  const saved = readReport(reportFile);
  // A rewrite is whole when its report, graph and data file are all there (the report goes last).
  if (saved !== null && (!changed(saved) || (existsSync(file) && existsSync(`${file}.data`)))) {
    onReport?.(saved);
    return changed(saved) ? file : modelFile;
  }
  mkdirSync(cacheDir, { recursive: true });
  const report = rewriteFile(modelFile, file, options);
  const partial = `${reportFile}.partial-${process.pid}`;
  writeFileSync(partial, JSON.stringify(report));
  renameSync(partial, reportFile);
  onReport?.(report);
  return changed(report) ? file : modelFile;
}

/** Writes the rewrite of `modelFile` to `file` (and its data file); the model's folder is only read. */
function rewriteFile(modelFile: string, file: string, options: FastMatMulOptions): FastMatMulReport {
  const model = onnx.ModelProto.decode(readFileSync(modelFile));
  const dataName = `${basename(file)}.data`;
  const dataPartial = `${file}.data.partial-${process.pid}`;
  const reader = new ExternalReader(dirname(modelFile));
  let writer: DataFileWriter | null = null;
  try {
    // Every external location is checked before anything is written: one that leaves the folder
    // refuses the whole model, rather than leaving a cached copy that would read it.
    for (const { tensor } of tensorsOf(model.graph)) if (isExternal(tensor)) reader.check(tensor);
    const data = new DataFileWriter(dataPartial, dataName);
    writer = data;
    const placed = new WeakSet<onnx.ITensorProto>();
    const report = rewrite(model, options, {
      readable: () => true,
      bytes: (tensor) => (isExternal(tensor) ? reader.read(tensor) : embeddedBytes(tensor)),
      place: (tensor, bytes) => {
        data.append(tensor, bytes);
        placed.add(tensor);
      },
    });
    if (!changed(report)) return report;
    const buffer = copyBuffer();
    for (const { tensor, initializer } of tensorsOf(model.graph)) {
      if (placed.has(tensor)) continue;
      if (isExternal(tensor)) reader.copy(tensor, data, buffer);
      else if (initializer && (tensor.rawData?.byteLength ?? 0) >= EXTERNAL_MIN_BYTES)
        data.append(tensor, tensor.rawData as Uint8Array);
    }
    data.dispose();
    writer = null;
    // The data file takes its final name first: a graph file that exists always has its data.
    renameSync(dataPartial, join(dirname(file), dataName));
    const partial = `${file}.partial-${process.pid}`;
    writeFileSync(partial, onnx.ModelProto.encode(model).finish());
    renameSync(partial, file);
    return report;
  } finally {
    writer?.dispose();
    reader.dispose();
    rmSync(dataPartial, { force: true });
  }
}

function readReport(file: string): FastMatMulReport | null {
  try {
    return parseReport(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    return null;
  }
}

/**
 * The paths of `modelFile` and then, in name order, of the data files beside it, found by the names
 * exports give them (`x.onnx_data`, `x.onnx_data_1`, `x.onnx.data`) without a parse of the graph.
 */
export function graphFiles(modelFile: string): string[] {
  const folder = dirname(modelFile);
  const base = basename(modelFile);
  const data = readdirSync(folder)
    .filter((name) => isDataFileOf(name, base))
    .sort();
  return [modelFile, ...data.map((name) => join(folder, name))];
}

function cacheKey(modelFile: string, options: FastMatMulOptions): string {
  // NOTE: the graph's files by name and stat, so a weight edit changes the key.
  const stats = graphFiles(modelFile).map((path) => {
    const stat = statSync(path);
    return [basename(path), stat.size, stat.mtimeMs];
  });
  return createHash('sha256')
    .update(
      JSON.stringify([
        REWRITE_VERSION,
        modelFile,
        stats,
        options.bits,
        options.headBits ?? DEFAULT_HEAD_BITS,
        options.blockSize ?? BLOCK_SIZE,
        options.norms !== false,
      ]),
    )
    .digest('hex')
    .slice(0, 24);
}

function isDataFileOf(name: string, graph: string): boolean {
  return name.startsWith(graph) && /^(?:_data(?:_\d+)?|\.data)$/.test(name.slice(graph.length));
}
