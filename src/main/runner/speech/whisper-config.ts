// What a Whisper export's JSON files say about decoding: the prompt's special tokens, the
// languages and tasks, the suppressed tokens, the timestamp tokens and the feature extractor.
import { positiveInt, readJson, tokenIds, type JsonObject } from '../model/model-files';
import { RunnerError } from '../runner-error';
import type { TextTokenizer } from '../text/tokenizer';
import type { MelSettings } from './log-mel';

/** The decoding facts of one Whisper model. */
export interface WhisperConfig {
  readonly mel: MelSettings;
  readonly sot: number;
  readonly eos: number;
  /** `<|notimestamps|>`; the timestamp tokens follow it. Null for a model without timestamps. */
  readonly noTimestamps: number | null;
  readonly timestampBegin: number | null;
  /** `<|startofprev|>`, which opens a prompt of earlier text, when the vocabulary has it. */
  readonly startOfPrevious: number | null;
  /** `<|nocaptions|>` (or `<|nospeech|>`): its probability after the prompt is the no-speech figure. */
  readonly noSpeech: number | null;
  /** Language code (`en`) → token id; empty for an English-only model. */
  readonly languages: ReadonlyMap<string, number>;
  readonly tasks: ReadonlyMap<'transcribe' | 'translate', number>;
  readonly suppress: readonly number[];
  readonly beginSuppress: readonly number[];
  /** The longest decoder sequence, prompt included. */
  readonly maxLength: number;
  /** Encoder positions (1500): mel frames per window are twice this. */
  readonly sourcePositions: number;
}

/** Reads the Whisper settings of the model in `dir`. */
export function readWhisperConfig(dir: string, tokenizer: TextTokenizer): WhisperConfig {
  const config = readJson(dir, 'config.json');
  const generation = readJson(dir, 'generation_config.json');
  const preprocessor = readJson(dir, 'preprocessor_config.json', true);
  const field = (name: string): unknown => generation[name] ?? config[name];
  const id = (value: unknown, token: string): number | null =>
    typeof value === 'number' ? value : (tokenizer.idOf(token) ?? null);
  const sot = id(field('decoder_start_token_id'), '<|startoftranscript|>');
  const eos = tokenIds(field('eos_token_id'))[0] ?? tokenizer.idOf('<|endoftext|>') ?? null;
  if (sot === null || eos === null)
    throw new RunnerError(
      'model_load_failed',
      'This speech model names no decoder start token or end token (generation_config.json).',
    );
  const noTimestamps = id(field('no_timestamps_token_id'), '<|notimestamps|>');
  const languages = new Map<string, number>();
  for (const [token, value] of Object.entries(objectField(generation.lang_to_id))) {
    const code = /^<\|(.+)\|>$/.exec(token)?.[1];
    if (code !== undefined && typeof value === 'number') languages.set(code, value);
  }
  const tasks = new Map<'transcribe' | 'translate', number>();
  for (const task of ['transcribe', 'translate'] as const) {
    const value = objectField(generation.task_to_id)[task];
    if (typeof value === 'number') tasks.set(task, value);
  }
  const melBins = positiveInt(preprocessor.feature_size) ?? positiveInt(config.num_mel_bins) ?? 80;
  return {
    mel: {
      melBins,
      nFft: positiveInt(preprocessor.n_fft) ?? 400,
      hop: positiveInt(preprocessor.hop_length) ?? 160,
      samplingRate: positiveInt(preprocessor.sampling_rate) ?? 16_000,
      windowSamples: positiveInt(preprocessor.n_samples) ?? 480_000,
    },
    sot,
    eos,
    noTimestamps,
    timestampBegin: noTimestamps === null ? null : noTimestamps + 1,
    startOfPrevious: tokenizer.idOf('<|startofprev|>') ?? null,
    noSpeech: tokenizer.idOf('<|nocaptions|>') ?? tokenizer.idOf('<|nospeech|>') ?? null,
    languages,
    tasks,
    suppress: tokenIds(field('suppress_tokens')),
    beginSuppress: tokenIds(field('begin_suppress_tokens')),
    maxLength:
      positiveInt(generation.max_length) ??
      positiveInt(config.max_target_positions) ??
      positiveInt(config.max_position_embeddings) ??
      448,
    sourcePositions: positiveInt(config.max_source_positions) ?? 1500,
  };
}

function objectField(value: unknown): JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : {};
}
