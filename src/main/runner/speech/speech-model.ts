// A Whisper model in a runner: audio → log-mel features → 30 s windows → greedy (or sampled)
// decoding with the KV cache → timestamped segments, as transformers.js' seek loop decodes them.
import { deflateSync } from 'node:zlib';
import type { TranscribeRequest, TranscribeResult, TranscriptSegment } from '../../../shared/engine';
import type { OpenedSession, OpenOptions } from '../onnx/session';
import { RunnerError } from '../runner-error';
import { TextTokenizer } from '../text/tokenizer';
import { decodeAudio } from './audio-input';
import { LogMel } from './log-mel';
import { applyLogitRules, argmax, logSoftmax } from './logit-rules';
import { readWhisperConfig, type WhisperConfig } from './whisper-config';
import { WhisperGraphs, type DecoderStep } from './whisper-graphs';

/** Mel frames the encoder downsamples into one position. */
const INPUT_STRIDE = 2;

/** One decoding pass's output. */
interface Pass {
  readonly tokens: number[];
  readonly logprobs: number[];
  readonly noSpeechProb: number;
}

/** A loaded speech-to-text model. */
export class SpeechModel {
  private constructor(
    private readonly graphs: WhisperGraphs,
    private readonly tokenizer: TextTokenizer,
    private readonly config: WhisperConfig,
    private readonly mel: LogMel,
  ) {}

  /** Opens the Whisper model in `dir` whose chosen decoder graph is `decoderFile`. */
  static async open(
    dir: string,
    decoderFile: string,
    options: OpenOptions,
  ): Promise<{ model: SpeechModel; opened: OpenedSession }> {
    const tokenizer = TextTokenizer.load(dir);
    const config = readWhisperConfig(dir, tokenizer);
    const { graphs, opened } = await WhisperGraphs.open(decoderFile, options);
    return { model: new SpeechModel(graphs, tokenizer, config, new LogMel(config.mel)), opened };
  }

  /** The mel bins the model's features have. */
  get melBins(): number {
    return this.config.mel.melBins;
  }

  /**
   * Transcribes (or translates) an audio file. Windows of 30 s are decoded one after the other;
   * each next window starts at the last complete segment's end, as Whisper's long-form decoding
   * does. `onSegment` hears each segment as soon as its window is decoded.
   */
  async transcribe(
    request: TranscribeRequest,
    signal: AbortSignal,
    onSegment: (segment: TranscriptSegment) => void = () => undefined,
  ): Promise<TranscribeResult> {
    const { samples, seconds } = await decodeAudio(request.audio, this.config.mel.samplingRate);
    return this.transcribeSamples(samples, seconds, request, signal, onSegment);
  }

  /** {@link transcribe} for audio already decoded to the model's rate. */
  async transcribeSamples(
    samples: Float32Array,
    duration: number,
    request: Omit<TranscribeRequest, 'audio'>,
    signal: AbortSignal,
    onSegment: (segment: TranscriptSegment) => void = () => undefined,
  ): Promise<TranscribeResult> {
    if (this.graphs.takesRawAudio) return this.#transcribeRaw(samples, duration, request, signal, onSegment);
    const config = this.config;
    const { data, frames } = this.mel.features(samples);
    const windowFrames = INPUT_STRIDE * config.sourcePositions;
    const framesPerSecond = config.mel.samplingRate / config.mel.hop;
    const timePrecision = config.mel.windowSamples / config.mel.samplingRate / config.sourcePositions;
    const timestamps = config.timestampBegin !== null;
    const segments: TranscriptSegment[] = [];
    const passes: { seek: number; tokens: number[] }[] = [];
    let language: string | null = null;
    let prompt: number[] | null = null;
    let seek = 0;
    while (seek < frames) {
      if (signal.aborted) throw new RunnerError('cancelled', 'The transcription was cancelled.');
      const end = Math.min(seek + windowFrames, frames);
      await this.graphs.encode(
        windowOf(data, frames, seek, end, windowFrames, this.mel.melBins),
        this.mel.melBins,
        windowFrames,
      );
      if (prompt === null) {
        language = await this.#language(request.language);
        prompt = this.#prompt(language, request.task, request.prompt);
      }
      const pass = await this.#decode(prompt, timestamps, request.temperature, signal);
      const generated = pass.tokens.slice(prompt.length);
      const logprobs = pass.logprobs;
      if (generated.at(-1) === config.eos) {
        generated.pop();
        logprobs.pop();
      }
      if (generated.length === 0) break;
      let advance = end - seek;
      let keep = generated.length;
      if (timestamps) {
        const first = config.timestampBegin as number;
        const isTimestamp = generated.map((token) => token >= first);
        const singleEnding =
          generated.length >= 2 && isTimestamp.at(-1) === true && isTimestamp.at(-2) === false;
        let lastPair = -1;
        for (let index = 0; index + 1 < generated.length; index++)
          if (isTimestamp[index] && isTimestamp[index + 1]) lastPair = index + 1;
        if (lastPair > 0 && !singleEnding) {
          // Ends inside a segment: the next window starts where the last complete one ended.
          keep = lastPair;
          advance = ((generated[lastPair - 1] as number) - first) * INPUT_STRIDE;
        }
      }
      // NOTE: a window whose only complete segment ends at 0.00 would never move on: take it whole.
      if (advance <= 0) advance = end - seek;
      const kept = generated.slice(0, keep);
      passes.push({ seek, tokens: kept });
      const offset = seek / framesPerSecond;
      const windowEnd = Math.min(duration, end / framesPerSecond);
      for (const segment of this.#segments(
        kept,
        logprobs.slice(0, keep),
        offset,
        windowEnd,
        timePrecision,
        timestamps,
      )) {
        const numbered: TranscriptSegment = {
          ...segment,
          id: segments.length,
          seek,
          noSpeechProb: pass.noSpeechProb,
        };
        segments.push(numbered);
        onSegment(numbered);
      }
      seek += advance;
    }
    return {
      text: segments
        .map((segment) => segment.text)
        .join('')
        .trim(),
      language,
      duration,
      segments,
      passes,
    };
  }

  /**
   * A raw-audio model (Moonshine): consecutive 30 s windows of samples, no language or task
   * tokens, no timestamps, at most six tokens per second of audio (as transformers.js bounds it);
   * one segment per window.
   */
  async #transcribeRaw(
    samples: Float32Array,
    duration: number,
    request: Omit<TranscribeRequest, 'audio'>,
    signal: AbortSignal,
    onSegment: (segment: TranscriptSegment) => void,
  ): Promise<TranscribeResult> {
    const { samplingRate, windowSamples, hop } = this.config.mel;
    if (request.task === 'translate')
      throw new RunnerError('invalid_request', 'This model cannot translate.');
    const segments: TranscriptSegment[] = [];
    const passes: { seek: number; tokens: number[] }[] = [];
    const prompt = [this.config.sot];
    for (let start = 0; start < samples.length; start += windowSamples) {
      const window = samples.subarray(start, Math.min(samples.length, start + windowSamples));
      await this.graphs.encodeSamples(window);
      const pass = await this.#decode(
        prompt,
        false,
        request.temperature,
        signal,
        maxNewTokens(window.length / samplingRate),
      );
      const generated = pass.tokens.slice(prompt.length);
      const logprobs = pass.logprobs;
      if (generated.at(-1) === this.config.eos) {
        generated.pop();
        logprobs.pop();
      }
      const seek = Math.round(start / hop);
      passes.push({ seek, tokens: generated });
      const offset = start / samplingRate;
      for (const segment of this.#segments(
        generated,
        logprobs,
        offset,
        Math.min(duration, offset + window.length / samplingRate),
        0,
        false,
      )) {
        const numbered: TranscriptSegment = { ...segment, id: segments.length, seek, noSpeechProb: 0 };
        segments.push(numbered);
        onSegment(numbered);
      }
    }
    const text = segments
      .map((segment) => segment.text.trim())
      .filter(Boolean)
      .join(' ');
    return { text, language: null, duration, segments, passes };
  }

  /** The language asked for (checked against the model's), or the one the first window sounds like. */
  async #language(asked: string | undefined): Promise<string | null> {
    const languages = this.config.languages;
    if (languages.size === 0) {
      if (asked !== undefined && asked !== 'en')
        throw new RunnerError(
          'invalid_request',
          `This model is English-only; it cannot transcribe language "${asked}".`,
        );
      return null;
    }
    if (asked !== undefined) {
      const code = asked.toLowerCase();
      if (!languages.has(code))
        throw new RunnerError(
          'invalid_request',
          `This model does not know language "${asked}"; it knows ${[...languages.keys()].slice(0, 20).join(', ')}${languages.size > 20 ? ', …' : ''}.`,
        );
      return code;
    }
    const { logits } = await this.graphs.start([this.config.sot]);
    let best: string | null = null;
    let bestLogit = -Infinity;
    for (const [code, id] of languages) {
      const logit = logits[id] as number;
      if (logit > bestLogit) {
        best = code;
        bestLogit = logit;
      }
    }
    return best;
  }

  /** The decoder's prompt: earlier text, start of transcript, language, task. */
  #prompt(language: string | null, task: 'transcribe' | 'translate', previous: string | undefined): number[] {
    const config = this.config;
    const prompt: number[] = [];
    if (previous !== undefined && previous.trim() !== '' && config.startOfPrevious !== null) {
      const ids = this.tokenizer.encode(` ${previous.trim()}`).filter((id) => id < config.eos);
      prompt.push(config.startOfPrevious, ...ids.slice(-Math.floor(config.maxLength / 2 - 1)));
    }
    prompt.push(config.sot);
    if (language !== null) {
      prompt.push(config.languages.get(language) as number);
      const taskId = config.tasks.get(task);
      if (taskId === undefined)
        throw new RunnerError(
          'invalid_request',
          `This model cannot ${task === 'translate' ? 'translate' : 'transcribe'}.`,
        );
      prompt.push(taskId);
    } else if (task === 'translate') {
      throw new RunnerError('invalid_request', 'This model is English-only; it cannot translate.');
    }
    if (config.timestampBegin === null && config.noTimestamps !== null) prompt.push(config.noTimestamps);
    return prompt;
  }

  /** Decodes one window after `prompt` until the end token or the model's longest sequence. */
  async #decode(
    prompt: readonly number[],
    timestamps: boolean,
    temperature: number,
    signal: AbortSignal,
    maxNew = Infinity,
  ): Promise<Pass> {
    const config = this.config;
    const sequence = [...prompt];
    const logprobs: number[] = [];
    let step: DecoderStep = await this.graphs.start(prompt);
    const noSpeechProb = this.#noSpeech(step, prompt.indexOf(config.sot));
    for (;;) {
      if (signal.aborted) throw new RunnerError('cancelled', 'The transcription was cancelled.');
      const logits = step.logits;
      applyLogitRules(logits, sequence, prompt.length, config, timestamps);
      const token = temperature > 0 ? sample(logits, temperature) : argmax(logits);
      logprobs.push(logSoftmax(logits)[token] as number);
      sequence.push(token);
      if (token === config.eos || sequence.length >= Math.min(config.maxLength, prompt.length + maxNew))
        break;
      step = await this.graphs.next(token);
    }
    return { tokens: sequence, logprobs, noSpeechProb };
  }

  /** The probability of "no speech" at the start-of-transcript position of the first step. */
  #noSpeech(step: DecoderStep, position: number): number {
    const id = this.config.noSpeech;
    if (id === null || position < 0) return 0;
    const row = step.all.subarray(position * step.vocab, (position + 1) * step.vocab);
    const logprobs = logSoftmax(row);
    return Math.exp(logprobs[id] as number);
  }

  /** The timestamped segments of one window's kept tokens. */
  *#segments(
    tokens: readonly number[],
    logprobs: readonly number[],
    offset: number,
    windowEnd: number,
    timePrecision: number,
    timestamps: boolean,
  ): Generator<
    Pick<TranscriptSegment, 'start' | 'end' | 'text' | 'tokens' | 'avgLogprob' | 'compressionRatio'>
  > {
    const first = timestamps ? (this.config.timestampBegin ?? Infinity) : Infinity;
    let start: number | null = null;
    let text: number[] = [];
    let scores: number[] = [];
    const close = (end: number) => {
      const words = this.tokenizer.decode(text);
      const bytes = Buffer.byteLength(words);
      const segment = {
        start: round(start ?? offset),
        end: round(Math.max(end, start ?? offset)),
        text: words,
        tokens: text,
        avgLogprob: scores.reduce((sum, value) => sum + value, 0) / Math.max(1, scores.length),
        compressionRatio: bytes === 0 ? 0 : bytes / deflateSync(words).length,
      };
      start = null;
      text = [];
      scores = [];
      return segment;
    };
    for (const [index, token] of tokens.entries()) {
      if (token >= first) {
        const time = Math.min(windowEnd, offset + (token - first) * timePrecision);
        if (start !== null && text.length > 0) yield close(time);
        else start = time;
      } else if (!this.tokenizer.specialIds.has(token)) {
        text.push(token);
        scores.push(logprobs[index] as number);
      }
    }
    if (text.length > 0) yield close(windowEnd);
  }

  /** Frees the sessions. */
  async release(): Promise<void> {
    await this.graphs.release();
  }
}

/** The features of frames `[start, end)`, zero-padded to `width` frames: `[melBins, width]`. */
function windowOf(
  data: Float32Array,
  frames: number,
  start: number,
  end: number,
  width: number,
  melBins: number,
): Float32Array {
  if (start === 0 && end === frames && frames === width) return data;
  const out = new Float32Array(melBins * width);
  for (let mel = 0; mel < melBins; mel++)
    out.set(data.subarray(mel * frames + start, mel * frames + end), mel * width);
  return out;
}

/** A token drawn from softmax(logits / temperature). */
function sample(logits: Float32Array, temperature: number): number {
  const scaled = logits.map((value) => value / temperature);
  const logprobs = logSoftmax(scaled);
  let threshold = Math.random();
  for (let index = 0; index < logprobs.length; index++) {
    threshold -= Math.exp(logprobs[index] as number);
    if (threshold <= 0) return index;
  }
  return argmax(logits);
}

/** The most tokens a raw-audio model writes for `seconds` of audio: six a second, at least six. */
export function maxNewTokens(seconds: number): number {
  return Math.max(6, Math.floor(seconds) * 6);
}

function round(seconds: number): number {
  return Math.round(seconds * 100) / 100;
}
