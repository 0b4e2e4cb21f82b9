/** What a Triton model name (a folder of the repository, a URL path segment) may hold. */
export const TRITON_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/**
 * A Triton model name for a Lodge model id: `owner/name` becomes `owner_name`, and any character
 * outside letters, digits, `_` and `-` becomes `_`, so the name is one folder and one path segment
 * on every file system and needs no escaping in `/v2/models/{name}`.
 */
export function tritonModelName(id: string): string {
  const safe = id
    .replace(/[^A-Za-z0-9_-]/g, '_')
    .replace(/^[_-]+/, '')
    .slice(0, 128);
  return safe === '' ? 'model' : safe;
}

/**
 * A Kubernetes resource name (DNS-1035 label: lower-case letters, digits and `-`, starting with a
 * letter, at most 63 characters) for a Triton model name, for the InferenceService's metadata.
 */
export function kubernetesName(name: string): string {
  const label = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return label === '' ? 'lodge-model' : label;
}
