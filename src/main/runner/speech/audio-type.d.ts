// audio-type ships no types; this is the one function Lodge calls.
declare module 'audio-type' {
  /** The audio format the bytes start like (`wav`, `mp3`, `flac`, …), or undefined. */
  export default function audioType(bytes: Uint8Array): string | undefined;
}
