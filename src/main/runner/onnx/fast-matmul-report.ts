// What the MatMulNBits rewrite (fast-matmul.ts) made of a model: counts, and each MatMul it left
// with the reason, for the runner's one-line log and the cache entry that remembers it.
import { BLOCK_SIZE } from './nbits-blocks';

/** Why a MatMul or Gemm kept its float weight. */
export type LeftReason =
  /** The weight feeds another node too (anything but an embedding lookup). */
  | 'shared'
  /** B is computed, not a weight in the file (attention's Q·Kᵀ and weights·V are such). */
  | 'not-constant'
  /** K is not a whole number of blocks (of 32 values, or the block size asked for). */
  | 'k-not-blocks'
  /** The weight is in an external data file and the rewrite ran on bytes, with no folder to read. */
  | 'external'
  /** Not a 2-D float32 or float16 weight. */
  | 'shape'
  /** A Gemm with transA, or alpha or beta other than 1. */
  | 'gemm-form';

/** A MatMul or Gemm the rewrite left as it was. */
export interface LeftMatMul {
  readonly node: string;
  /** Its B input (the weight's name, where it has one). */
  readonly weight: string;
  readonly reason: LeftReason;
}

/** What a rewrite changed and what it left. */
export interface FastMatMulReport {
  /** Float MatMuls and Gemms made MatMulNBits. */
  readonly quantized: number;
  /** Of those, LM heads (an `lm_head…` weight, or a tied head over the embedding table). */
  readonly heads: number;
  /** MatMulNBits nodes switched to accuracy_level 4. */
  readonly switched: number;
  /** RMSNorms whose Mul(x, x) became Pow(x, 2), the form onnxruntime fuses (norm-rewrite.ts), where any. */
  readonly norms?: number;
  readonly left: readonly LeftMatMul[];
  /** Values of K a block in the weights it quantized, where not 32 (FastMatMulOptions.blockSize). */
  readonly blockSize?: number;
}

const REASON_WORDS: Readonly<Record<LeftReason, string>> = {
  shared: 'weight shared with another node',
  'not-constant': 'not over a constant weight',
  'k-not-blocks': 'K not a multiple of the block size',
  external: 'weight in an external file not read',
  shape: 'not a 2-D float weight',
  'gemm-form': 'Gemm with transA, alpha or beta',
};

/**
 * One line for the runner's log: `fast MatMuls: 29 quantized (1 LM head), 0 switched to accuracy
 * 4; left 8 (8 not over a constant weight)`; `29 quantized in blocks of 64 (…` where not 32.
 */
export function describeFastMatMuls(report: FastMatMulReport): string {
  const counts = new Map<LeftReason, number>();
  for (const { reason } of report.left) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  const size = report.blockSize ?? BLOCK_SIZE;
  const words = (reason: LeftReason) =>
    reason === 'k-not-blocks' ? `K not a multiple of ${size}` : REASON_WORDS[reason];
  const reasons = [...counts].map(([reason, count]) => `${count} ${words(reason)}`).join(', ');
  const heads = report.heads === 1 ? '1 LM head' : `${report.heads} LM heads`;
  const blocks = size === BLOCK_SIZE ? '' : ` in blocks of ${size}`;
  const norms = report.norms ?? 0;
  return (
    `fast MatMuls: ${report.quantized} quantized${blocks} (${heads}), ${report.switched} switched to accuracy 4; ` +
    `left ${report.left.length}${reasons === '' ? '' : ` (${reasons})`}` +
    (norms === 0 ? '' : `; ${norms} RMSNorm${norms === 1 ? '' : 's'} made fusable`)
  );
}

/** A report read back from a cache entry, or null where the entry is not one. */
export function parseReport(value: unknown): FastMatMulReport | null {
  if (typeof value !== 'object' || value === null) return null;
  const { quantized, heads, switched, norms, left, blockSize } = value as Record<string, unknown>;
  if (![quantized, heads, switched].every((count) => Number.isInteger(count)) || !Array.isArray(left))
    return null;
  if (norms !== undefined && !Number.isInteger(norms)) return null;
  if (blockSize !== undefined && !Number.isInteger(blockSize)) return null;
  const entries: LeftMatMul[] = [];
  for (const entry of left as unknown[]) {
    if (typeof entry !== 'object' || entry === null) return null;
    const { node, weight, reason } = entry as Record<string, unknown>;
    if (typeof node !== 'string' || typeof weight !== 'string' || !isReason(reason)) return null;
    entries.push({ node, weight, reason });
  }
  return {
    quantized: quantized as number,
    heads: heads as number,
    switched: switched as number,
    ...(norms === undefined ? {} : { norms: norms as number }),
    left: entries,
    ...(blockSize === undefined ? {} : { blockSize: blockSize as number }),
  };
}

function isReason(value: unknown): value is LeftReason {
  return typeof value === 'string' && Object.hasOwn(REASON_WORDS, value);
}
