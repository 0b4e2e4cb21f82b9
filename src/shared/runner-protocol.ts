/**
 * Messages between the core and a runner process over the fork IPC channel. The engine issue
 * grows this union (load, generate, embed, infer, cancel, stats, unload); both sides switch on `type`.
 */
export type CoreToRunnerMessage = { type: 'shutdown' };

/** Messages a runner sends to the core. */
export type RunnerToCoreMessage = {
  type: 'ready';
  /** onnxruntime-node's version. */
  ortVersion: string;
  /** The execution backends this build of onnxruntime-node lists for this platform. */
  backends: string[];
};
