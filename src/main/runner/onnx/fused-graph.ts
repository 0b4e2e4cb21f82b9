// The fusions a decoder gets at load on the CPU: its attention in plain ops into
// GroupQueryAttention (attention-rewrite.ts), its RMSNorms into the form onnxruntime fuses
// (norm-rewrite.ts), its lm_head cut to the positions asked for (logits-rewrite.ts), and a
// screened int8 twin of a wide float32 lm_head for greedy steps (screen-rewrite.ts, whose tokens
// the runner makes exact; the exact head still serves everything else). They
// change how the graph computes, not its weights, the way onnxruntime's own fusions at
// optimization level `all` do (a few ulps of float arithmetic), and the runner
// checks a fresh fusion against the graph it came from before it serves it. They apply to the
// graph that would run: the export, or its quantization at load. The session opened from the fused
// graph saves its optimized graph into the cache, as every CPU session does, so a model costs no
// more copies there than before and the rewrite runs once. Weights in data files are read where
// they are: the fused graph is opened from memory and told their folder.
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { onnx } from 'onnx-proto';
import { fuseAttention } from './attention-rewrite';
import { ExternalReader, isExternal } from './external-data';
import { keepLastLogits, KEEP_NAMES } from './logits-rewrite';
import { embeddedBytes, tensorsOf, type TensorStore } from './matmul-rewrite';
import { squaresAsPow } from './norm-rewrite';
import { screenHead, type ScreenTables } from './screen-rewrite';

/**
 * Bumped when the fusions' output or what they accept changes, so cached graphs and refusals of
 * older code are not reused (3: exports with data files, and int8-activation graphs, now fuse;
 * 4: wide float32 heads get a screened twin; 5: it returns its quantization, its tables a checksum).
 */
export const FUSION_VERSION = 5;

/** What the fusions changed. */
export interface FusionReport {
  /** Decoder attentions fused into GroupQueryAttention. */
  readonly attention: number;
  /** RMSNorms whose square became Pow(x, 2). */
  readonly norms: number;
  /** 1 where the lm_head was given `num_logits_to_keep`, else 0. */
  readonly logits: number;
  /** 1 where the lm_head got a screened int8 twin (screen-rewrite.ts), else 0. */
  readonly screen: number;
}

/** The report of a graph with nothing to fuse. */
export const NO_FUSION: FusionReport = { attention: 0, norms: 0, logits: 0, screen: 0 };

/** Whether `report` says anything was fused. */
export function fusedAny(report: FusionReport): boolean {
  return report.attention + report.norms + report.logits + report.screen > 0;
}

/**
 * The fused graph of `modelFile`, or null where nothing fuses. Weights in data files stay there
 * (`external`): the graph finds them in `modelFile`'s folder (a session opened from its bytes is
 * told that folder, `dataFolder` in session.ts). `screen` (default true) gives a wide float32
 * head its screened twin; `screen` in the result holds the tables the runner screens it with.
 */
export function fusedModel(
  modelFile: string,
  options: { readonly screen?: boolean } = {},
): { bytes: Uint8Array; report: FusionReport; external: boolean; screen: ScreenTables | null } | null {
  const model = onnx.ModelProto.decode(readFileSync(modelFile));
  const hasExternal = [...tensorsOf(model.graph)].some(({ tensor }) => isExternal(tensor));
  const reader = new ExternalReader(dirname(modelFile));
  try {
    const store: TensorStore = {
      readable: () => true,
      bytes: (tensor) => (isExternal(tensor) ? reader.read(tensor) : embeddedBytes(tensor)),
      place: (tensor, bytes) => {
        tensor.rawData = bytes;
      },
    };
    const attention = fuseAttention(model, store);
    const norms = squaresAsPow(model);
    const logits = keepLastLogits(model, store) ? 1 : 0;
    // Screened only where the head reads the kept positions (one row a sequence).
    const hasKeep = (model.graph?.input ?? []).some((value) => KEEP_NAMES.has(value.name ?? ''));
    const screen = options.screen !== false && hasKeep ? screenHead(model, store) : null;
    const report = { attention, norms, logits, screen: screen === null ? 0 : 1 };
    if (!fusedAny(report)) return null;
    return {
      bytes: onnx.ModelProto.encode(model).finish(),
      report,
      external: hasExternal,
      screen,
    };
  } finally {
    reader.dispose();
  }
}

/** One line for the runner's log: `graph fusions: 8 attentions fused into GroupQueryAttention; 17 RMSNorms made fusable`. */
export function describeFusions(report: FusionReport): string {
  const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;
  const parts = [
    ...(report.attention > 0
      ? [`${plural(report.attention, 'attention')} fused into GroupQueryAttention`]
      : []),
    ...(report.norms > 0 ? [`${plural(report.norms, 'RMSNorm')} made fusable`] : []),
    ...(report.logits > 0 ? ['lm_head computed for the last position only'] : []),
    ...(report.screen > 0 ? ['lm_head screened in int8 for greedy steps (their tokens exact)'] : []),
  ];
  return `graph fusions: ${parts.join('; ')}`;
}

/** A report read back from the cache, or null where the entry is not one. */
export function parseFusionReport(value: unknown): FusionReport | null {
  if (typeof value !== 'object' || value === null) return null;
  const { attention, norms, logits, screen } = value as Record<string, unknown>;
  if (![attention, norms, logits, screen].every((count) => Number.isInteger(count))) return null;
  return {
    attention: attention as number,
    norms: norms as number,
    logits: logits as number,
    screen: screen as number,
  };
}
