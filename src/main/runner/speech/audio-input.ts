// An uploaded audio file as the model hears it: decoded with audio-decode (WAV, MP3, FLAC,
// Ogg/Opus and Vorbis, M4A/AAC, WebM/Opus from a browser's MediaRecorder; pure JS and WASM, so
// it works offline and needs no ffmpeg), mixed down to mono and resampled to the model's rate.
import decode from 'audio-decode';
import { RunnerError } from '../runner-error';
import { resample } from './resample';

/** The longest audio Lodge transcribes, in seconds (two hours). */
export const MAX_AUDIO_SECONDS = 2 * 60 * 60;

/** Decodes `bytes` into mono samples at `rate` Hz; audio that cannot be read is a client error. */
export async function decodeAudio(
  bytes: Uint8Array,
  rate: number,
): Promise<{ samples: Float32Array; seconds: number }> {
  let decoded: { channelData: Float32Array[]; sampleRate: number };
  try {
    decoded = await decode(bytes);
  } catch (error) {
    throw new RunnerError(
      'invalid_request',
      `The file is not audio Lodge can decode (WAV, MP3, FLAC, Ogg/Opus, M4A or WebM): ${reason(error)}`,
    );
  }
  const channels = decoded.channelData.filter((channel) => channel.length > 0);
  const first = channels[0];
  if (first === undefined || !(decoded.sampleRate > 0))
    throw new RunnerError('invalid_request', 'The audio file holds no samples.');
  const seconds = first.length / decoded.sampleRate;
  if (seconds > MAX_AUDIO_SECONDS)
    throw new RunnerError(
      'invalid_request',
      `The audio is ${Math.round(seconds / 60)} minutes long; Lodge transcribes at most ${MAX_AUDIO_SECONDS / 60} minutes at a time.`,
    );
  const mono = channels.length === 1 ? first : mixDown(channels);
  return { samples: resample(mono, decoded.sampleRate, rate), seconds };
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
