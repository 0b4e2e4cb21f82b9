// The only module that imports onnxruntime-node (STYLE.md): sessions live in runner processes.
import * as ort from 'onnxruntime-node';

/** What this onnxruntime-node build is and which backends it lists for this platform. */
export function describeRuntime(): { ortVersion: string; backends: string[] } {
  return {
    ortVersion: ort.env.versions.node ?? ort.env.versions.common,
    backends: ort.listSupportedBackends().map((backend) => backend.name),
  };
}
