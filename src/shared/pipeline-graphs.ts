import type { ModelTask } from './engine';

/** The graphs, in the order they run, of each task whose model is a pipeline of several ONNX graphs run in turn. */
const PIPELINES: Partial<Record<ModelTask, readonly string[]>> = {
  'speech-to-text': ['an audio encoder', 'a text decoder'],
  'image-text-to-text': ['a vision encoder', 'a token embedding', 'a text decoder'],
  'text-to-image': ['a text encoder', 'a denoising UNet', 'a VAE decoder'],
};

/** The graphs of a model of `task` when it is a pipeline of several (none: a single graph). */
export function pipelineGraphs(task: ModelTask): readonly string[] {
  return PIPELINES[task] ?? [];
}
