// The tables a screened LM head is made exact with (screen-rewrite.ts, llm/head-screen.ts), and
// their file beside a cached fused graph, so a cached load needs no parse of the export: a header
// (magic, version, vocabulary, hidden size, flags: a bias follows, it comes first; the CRC-32 of
// what follows), then each token's error and weight norms (float64), its float32 weights, the bias.
// A file whose checksum fails is not read: a damaged norm would make its token's bound unsound.
import { closeSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';

/** What the runner needs to screen a head: the float weights and each token's error norms. */
export interface ScreenTables {
  readonly vocab: number;
  readonly hidden: number;
  /** [vocab, hidden]: token j's float32 weights (column j of the head's [H, V] weight), contiguous. */
  readonly rows: Float32Array;
  /**
   * Per token j: ‖w_j − ŵ_j‖₂ (the int8 weights' error), widened so that ‖ĥ‖₂ times it also covers
   * the float rounding of the screened product.
   */
  readonly errorNorms: Float64Array;
  /** Per token j: ‖w_j‖₂, which the activations' rounding error is multiplied by. */
  readonly weightNorms: Float64Array;
  /** The head's constant bias, added to both heads' products; null where it has none. */
  readonly bias: Float32Array | null;
  /**
   * Whether the exact head starts its sums from the bias (a Gemm's C, as onnxruntime's Gemm does)
   * rather than adding it to the product after (an Add node).
   */
  readonly biasFirst: boolean;
}

const MAGIC = 'LODGESCR';
const VERSION = 1;
const BIAS = 1;
const BIAS_FIRST = 2;
/** The header's bytes, padded so the float64 tables that follow are aligned. */
const HEADER = 32;

/** Writes `tables` to `file` (through a partial file renamed into place). */
export function writeScreenTables(file: string, tables: ScreenTables): void {
  const header = Buffer.alloc(HEADER);
  header.write(MAGIC, 0, 'latin1');
  header.writeUInt32LE(VERSION, 8);
  header.writeUInt32LE(tables.vocab, 12);
  header.writeUInt32LE(tables.hidden, 16);
  header.writeUInt32LE((tables.bias === null ? 0 : BIAS) | (tables.biasFirst ? BIAS_FIRST : 0), 20);
  const parts = [tables.errorNorms, tables.weightNorms, tables.rows, tables.bias].flatMap((part) =>
    part === null ? [] : [new Uint8Array(part.buffer, part.byteOffset, part.byteLength)],
  );
  header.writeUInt32LE(
    parts.reduce((sum, part) => crc32(part, sum), 0),
    24,
  );
  const partial = `${file}.partial-${process.pid}`;
  const fd = openSync(partial, 'w');
  try {
    for (const bytes of [header, ...parts])
      for (let at = 0; at < bytes.byteLength;) at += writeSync(fd, bytes, at);
  } catch (error) {
    closeSync(fd);
    rmSync(partial, { force: true });
    throw error;
  }
  closeSync(fd);
  renameSync(partial, file);
}

/** The tables in `file`, or null where it is missing or damaged. */
export function readScreenTables(file: string): ScreenTables | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return null;
  }
  if (bytes.byteLength < HEADER || bytes.toString('latin1', 0, 8) !== MAGIC) return null;
  if (bytes.readUInt32LE(8) !== VERSION) return null;
  const vocab = bytes.readUInt32LE(12);
  const hidden = bytes.readUInt32LE(16);
  const flags = bytes.readUInt32LE(20);
  const hasBias = (flags & BIAS) !== 0;
  const size = HEADER + 16 * vocab + 4 * vocab * hidden + (hasBias ? 4 * vocab : 0);
  if (vocab === 0 || hidden === 0 || bytes.byteLength !== size) return null;
  if (crc32(bytes.subarray(HEADER)) !== bytes.readUInt32LE(24)) return null;
  // Views need aligned offsets: a copy where the file's buffer is not aligned.
  const aligned = bytes.byteOffset % 8 === 0 ? bytes : Buffer.from(new Uint8Array(bytes));
  const { buffer, byteOffset } = aligned;
  let at = byteOffset + HEADER;
  const take = <T>(make: (offset: number) => T, length: number): T => {
    const view = make(at);
    at += length;
    return view;
  };
  return {
    vocab,
    hidden,
    errorNorms: take((offset) => new Float64Array(buffer, offset, vocab), 8 * vocab),
    weightNorms: take((offset) => new Float64Array(buffer, offset, vocab), 8 * vocab),
    rows: take((offset) => new Float32Array(buffer, offset, vocab * hidden), 4 * vocab * hidden),
    bias: hasBias ? take((offset) => new Float32Array(buffer, offset, vocab), 4 * vocab) : null,
    biasFirst: (flags & BIAS_FIRST) !== 0,
  };
}
