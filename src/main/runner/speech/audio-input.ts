// An uploaded audio file as the model hears it: decoded with audio-decode (WAV, MP3, FLAC,
// Ogg/Opus and Vorbis, M4A/AAC, WebM/Opus from a browser's MediaRecorder; pure JS and WASM, so
// it works offline and needs no ffmpeg), mixed down to mono and resampled to the model's rate.
import decode from 'audio-decode';
import audioType from 'audio-type';
import { RunnerError } from '../runner-error';
import { resample } from './resample';

/** The longest audio Lodge transcribes, in seconds (two hours). */
export const MAX_AUDIO_SECONDS = 2 * 60 * 60;

/** The most samples (one channel, at the file's own rate) kept while decoding: two hours at 48 kHz. */
const MAX_SOURCE_SAMPLES = MAX_AUDIO_SECONDS * 48_000;

/**
 * How much of the file the decoder is given at a time. Small, because a compressed file can
 * expand enormously: a FLAC frame of silence is a dozen bytes for 65 535 samples per channel, so
 * one kibibyte may still decode to some tens of megabytes, and the length is checked after each.
 */
const CHUNK_BYTES = 1024;

/** How much of the file's start tells its format (an ID3 tag longer than this is taken for MP3, as audio-type does). */
const SNIFF_BYTES = 64 * 1024;

/** The containers and codecs Lodge decodes; anything else audio-decode could read is refused. */
const FORMATS = [
  'wav',
  'mp3',
  'flac',
  'opus',
  'oga',
  'm4a',
  'aac',
  'webm',
  'aiff',
  'caf',
  'wma',
  'amr',
  'qoa',
] as const;

const NOT_AUDIO = 'The file is not audio Lodge can decode (WAV, MP3, FLAC, Ogg/Opus, M4A or WebM)';

async function* chunksOf(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += CHUNK_BYTES)
    yield bytes.slice(offset, offset + CHUNK_BYTES);
}

/**
 * Decodes `bytes` into mono samples at `rate` Hz; audio that cannot be read is a client error.
 * The file is decoded a chunk at a time and mixed to mono as it goes, and decoding stops as soon
 * as it passes {@link MAX_AUDIO_SECONDS}: a small upload that claims hours of audio is refused
 * before it becomes gigabytes of samples.
 */
export async function decodeAudio(
  bytes: Uint8Array,
  rate: number,
): Promise<{ samples: Float32Array; seconds: number }> {
  // audio-type reads the view's whole ArrayBuffer (an IPC message's, here), so it gets its own copy.
  const type = audioType(bytes.slice(0, SNIFF_BYTES));
  const format = FORMATS.find((name) => name === type);
  if (format === undefined) throw new RunnerError('invalid_request', `${NOT_AUDIO}: unknown format`);
  const pieces: Float32Array[] = [];
  let length = 0;
  let sampleRate = 0;
  try {
    for await (const piece of decode(chunksOf(bytes), format)) {
      const channels = piece.channelData.filter((channel) => channel.length > 0);
      if (channels.length === 0) continue;
      if (sampleRate === 0) sampleRate = piece.sampleRate;
      const mono = channels.length === 1 ? (channels[0] as Float32Array).slice() : mixDown(channels);
      pieces.push(mono);
      length += mono.length;
      if (length > MAX_SOURCE_SAMPLES || (sampleRate > 0 && length / sampleRate > MAX_AUDIO_SECONDS))
        throw new RunnerError(
          'invalid_request',
          `The audio is longer than ${MAX_AUDIO_SECONDS / 60} minutes, the most Lodge transcribes at a time; send a shorter recording.`,
        );
    }
  } catch (error) {
    if (error instanceof RunnerError) throw error;
    throw new RunnerError('invalid_request', `${NOT_AUDIO}: ${reason(error)}`);
  }
  if (length === 0 || !(sampleRate > 0))
    throw new RunnerError('invalid_request', 'The audio file holds no samples.');
  const mono = new Float32Array(length);
  let offset = 0;
  for (const piece of pieces) {
    mono.set(piece, offset);
    offset += piece.length;
  }
  pieces.length = 0;
  return { samples: resample(mono, sampleRate, rate), seconds: length / sampleRate };
}

function mixDown(channels: readonly Float32Array[]): Float32Array {
  const length = Math.min(...channels.map((channel) => channel.length));
  const out = new Float32Array(length);
  for (const channel of channels)
    for (let index = 0; index < length; index++)
      out[index] = (out[index] as number) + (channel[index] as number);
  for (let index = 0; index < length; index++) out[index] = (out[index] as number) / channels.length;
  return out;
}

/** A decoder's complaint, short and without paths. */
function reason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (text.split('\n')[0] ?? '').replace(/\/[^\s]+/g, '…').slice(0, 200) || 'unknown format';
}
