// The rules Whisper's decoding applies to each step's logits, in transformers.js' order:
// suppressed tokens, tokens suppressed at the first step, then the timestamp rules.
import type { WhisperConfig } from './whisper-config';

/**
 * Applies the rules to `logits` (the last position's, changed in place) for the next token after
 * `sequence`, whose first `begin` tokens are the prompt. With `timestamps`, timestamp tokens come
 * in pairs around text, the first token is a timestamp, and a timestamp is forced when the
 * timestamps' total probability beats every text token's.
 */
export function applyLogitRules(
  logits: Float32Array,
  sequence: readonly number[],
  begin: number,
  config: WhisperConfig,
  timestamps: boolean,
): void {
  for (const token of config.suppress) if (token < logits.length) logits[token] = -Infinity;
  if (sequence.length === begin)
    for (const token of config.beginSuppress) if (token < logits.length) logits[token] = -Infinity;
  if (!timestamps || config.noTimestamps === null || config.timestampBegin === null) return;
  const first = config.timestampBegin;
  logits[config.noTimestamps] = -Infinity;
  if (sequence.length === begin) {
    // NOTE: transformers.js stops here, before max_initial_timestamp_index: any first timestamp goes.
    logits.fill(-Infinity, 0, first);
    return;
  }
  const generated = sequence.slice(begin);
  const last = generated.length >= 1 && (generated.at(-1) as number) >= first;
  const penultimate = generated.length < 2 || (generated.at(-2) as number) >= first;
  if (last) {
    if (penultimate) logits.fill(-Infinity, first);
    else logits.fill(-Infinity, 0, config.eos);
  }
  // NOTE: float32 arithmetic on purpose, as transformers.js computes it, so near-ties fall the same way.
  const logprobs = logSoftmax(logits);
  const timestampMass = Math.log(
    logprobs
      .subarray(first)
      .map(Math.exp)
      .reduce((a, b) => a + b),
  );
  let bestText = logprobs[0] as number;
  for (let index = 1; index < first; index++) bestText = Math.max(bestText, logprobs[index] as number);
  if (timestampMass > bestText) logits.fill(-Infinity, 0, first);
}

/** log(softmax(values)) in float32. */
export function logSoftmax(values: Float32Array): Float32Array {
  let max = values[0] as number;
  for (let index = 1; index < values.length; index++)
    if ((values[index] as number) > max) max = values[index] as number;
  let sum = 0;
  for (let index = 0; index < values.length; index++) sum += Math.exp((values[index] as number) - max);
  const log = Math.log(sum);
  return values.map((value) => value - max - log);
}

/** The first index of the largest value (ties go to the lower id, as transformers.js picks). */
export function argmax(values: Float32Array): number {
  let best = 0;
  for (let index = 1; index < values.length; index++)
    if ((values[index] as number) > (values[best] as number)) best = index;
  return best;
}
