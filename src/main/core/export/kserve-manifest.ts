/** The placeholder the manifest's storageUri holds until the user says where the repository lives. */
export const STORAGE_URI_PLACEHOLDER = 's3://YOUR-BUCKET/PATH/TO/REPOSITORY';

/**
 * A KServe `InferenceService` (serving.kserve.io/v1beta1) that serves an exported Triton model
 * repository with an ONNX-capable runtime over the v2 (Open Inference) protocol. `storageUri` is a
 * placeholder: the user uploads the repository folder (the one holding the model's folder) and puts
 * its URI there.
 */
export function kserveManifest(options: {
  readonly resourceName: string;
  readonly modelName: string;
  readonly lodgeId: string;
  readonly gpu: boolean;
}): string {
  const resources = options.gpu
    ? ['      resources:', '        limits:', '          nvidia.com/gpu: "1"']
    : [];
  return [
    `# KServe InferenceService for ${options.lodgeId}, exported by Lodge with its Triton repository.`,
    '# Upload the repository folder (the one holding the model folder and this file), put its URI',
    '# in storageUri, then: kubectl apply -f <this file>',
    `# Clients call /v2/models/${options.modelName}/infer on the service.`,
    'apiVersion: serving.kserve.io/v1beta1',
    'kind: InferenceService',
    'metadata:',
    `  name: ${options.resourceName}`,
    'spec:',
    '  predictor:',
    '    model:',
    '      modelFormat:',
    '        name: onnx',
    '      protocolVersion: v2',
    `      storageUri: "${STORAGE_URI_PLACEHOLDER}"`,
    ...resources,
    '',
  ].join('\n');
}
