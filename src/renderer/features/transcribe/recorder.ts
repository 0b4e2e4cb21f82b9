/** Records the microphone with the browser's MediaRecorder (WebM/Opus in Chromium). */
export class Recorder {
  #recorder: MediaRecorder | null = null;
  #chunks: Blob[] = [];
  #stream: MediaStream | null = null;

  /** Whether the browser can record at all. */
  static get supported(): boolean {
    return typeof MediaRecorder !== 'undefined' && navigator.mediaDevices?.getUserMedia !== undefined;
  }

  /** Asks for the microphone and starts recording. */
  async start(): Promise<void> {
    this.#stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    this.#chunks = [];
    this.#recorder = new MediaRecorder(this.#stream);
    this.#recorder.ondataavailable = (event) => {
      if (event.data.size > 0) this.#chunks.push(event.data);
    };
    this.#recorder.start();
  }

  /** Stops recording and releases the microphone; resolves with the recording. */
  stop(): Promise<Blob> {
    const recorder = this.#recorder;
    if (recorder === null) return Promise.resolve(new Blob([]));
    return new Promise((resolve) => {
      recorder.onstop = () => {
        for (const track of this.#stream?.getTracks() ?? []) track.stop();
        this.#recorder = null;
        resolve(new Blob(this.#chunks, { type: recorder.mimeType || 'audio/webm' }));
      };
      recorder.stop();
    });
  }
}
