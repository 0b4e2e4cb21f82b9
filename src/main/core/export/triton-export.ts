import { randomUUID } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { copyFile, link, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { ExportModelRequest, ExportResult } from '../../../shared/contract/export';
import { diskFullError, isDiskFull } from '../disk-full';
import { LodgeError, isLodgeError } from '../errors';
import { isInside, unsafeNameReason } from '../library/contained-path';
import type { ModelRecord } from '../library/model-record';
import { readOnnxSignature } from '../library/onnx-signature';
import { LODGE_VERSION } from '../version';
import { externalDataLocations } from './external-data';
import { keptVersions, sameSignatureVersions, type ExportVersion } from './kept-versions';
import { kserveManifest } from './kserve-manifest';
import { refusePipelineExport } from './pipeline-export';
import { formatTritonConfig, tritonConfig } from './triton-config';
import { kubernetesName, tritonModelName } from './triton-name';

type ExportedFile = ExportResult['versions'][number]['files'][number];

/** How every config.pbtxt Lodge writes begins: what tells an earlier export from a folder of the user's. */
const HEADER_START = 'Triton model configuration for ';

/** True when `modelDir` is a folder an earlier export wrote: its config.pbtxt starts with Lodge's header. */
function isEarlierExport(modelDir: string): boolean {
  try {
    if (!lstatSync(modelDir).isDirectory()) return false;
    return readFileSync(join(modelDir, 'config.pbtxt'), 'utf8').startsWith(`# ${HEADER_START}`);
  } catch {
    return false;
  }
}

/**
 * Puts `source` at `target`: a hard link where the file system allows it, else a copy (off the
 * event loop: a multi-gigabyte copy must not stall the core's other requests).
 */
async function place(source: string, target: string): Promise<ExportedFile['how']> {
  await mkdir(dirname(target), { recursive: true });
  try {
    await link(source, target);
    return 'linked';
  } catch (error) {
    if (isDiskFull(error)) throw error;
    await copyFile(source, target);
    return 'copied';
  }
}

/** The graph's external data files, checked to be relative names inside the graph's folder. */
function externalFiles(version: ExportVersion, id: string): string[] {
  let locations: string[];
  try {
    locations = externalDataLocations(version.file);
  } catch {
    throw new LodgeError('model_load_failed', `The graph of ${id} (${version.variant}) could not be read.`);
  }
  for (const location of locations) {
    const reason = unsafeNameReason(location);
    const source = join(dirname(version.file), location);
    if (reason !== null || !isInside(dirname(version.file), source))
      throw new LodgeError(
        'model_load_failed',
        `The graph of ${id} names external data that ${reason ?? 'lies outside its folder'}; nothing was exported.`,
      );
    if (!existsSync(source))
      throw new LodgeError(
        'model_load_failed',
        `The graph of ${id} refers to external data "${location}", which is not beside it; nothing was exported.`,
      );
  }
  return locations;
}

/**
 * `path` with the symlinks of its longest existing part resolved (the rest does not exist yet, so
 * it cannot be a link): where writing below `path` really lands.
 */
function realTarget(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(realTarget(parent), basename(path));
  }
}

/**
 * Makes `dir` and the folders missing above it one at a time. Not `mkdir -p`: Node's recursive
 * mkdir spins forever where a folder cannot be made in a parent that exists (under /proc), which
 * held a thread of the core's pool for good; a plain mkdir there fails, and the client is told.
 */
async function makeFolders(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let at = dir; !existsSync(at); at = dirname(at)) {
    missing.unshift(at);
    if (dirname(at) === at) break;
  }
  for (const folder of missing) await mkdir(folder);
}

/** One version folder to write: each file's name in it, where it comes from, and its size. */
interface VersionPlan {
  readonly version: number;
  readonly variant: string;
  readonly files: readonly { readonly name: string; readonly source: string; readonly bytes: number }[];
}

/**
 * What one version folder will hold: the graph as `model.onnx`, its external data under the names
 * the graph uses. Everything is checked here, before anything is written.
 */
function planVersion(version: ExportVersion, id: string): VersionPlan {
  const data = externalFiles(version, id).map((name) => ({
    name,
    source: join(dirname(version.file), name),
  }));
  if (data.some((file) => file.name === 'model.onnx'))
    throw new LodgeError(
      'model_load_failed',
      `The graph of ${id} keeps its weights in a file named model.onnx.`,
    );
  const files = [{ name: 'model.onnx', source: version.file }, ...data].map((file) => ({
    ...file,
    bytes: statSync(file.source).size,
  }));
  return { version: version.version, variant: version.variant, files };
}

/** Writes one planned version folder under `staging`, a file at a time. */
async function writeVersion(staging: string, plan: VersionPlan): Promise<ExportResult['versions'][number]> {
  const dir = join(staging, String(plan.version));
  const files: ExportedFile[] = [];
  for (const file of plan.files) {
    const how = await place(file.source, join(dir, ...file.name.split('/')));
    files.push({ name: file.name, bytes: file.bytes, how });
  }
  return { version: plan.version, variant: plan.variant, files };
}

/** Turns a failed file-system call into an error a client can act on, without the path. */
function writeError(error: unknown): LodgeError {
  if (isLodgeError(error)) return error;
  if (isDiskFull(error)) return diskFullError(error);
  const code = error instanceof Error && 'code' in error ? String(error.code) : 'unknown';
  return new LodgeError(
    'invalid_request',
    `Lodge could not write the export into that folder (${code}); check that it exists or can be made, and that Lodge may write there.`,
    { param: 'dir' },
  );
}

/**
 * Exports a library model as a Triton model repository under `request.dir`:
 * `<name>/config.pbtxt` (platform onnxruntime_onnx; inputs, outputs, dims and data types from the
 * graph; batching and instance groups), `<name>/<version>/model.onnx` with the external data the
 * graph names beside it (hard-linked where possible, else copied), and `<name>.kserve.yaml`, a KServe
 * InferenceService for the repository. The model folder is built under a temporary name and renamed
 * into place, so a failed export leaves no half a model in the repository. `where.older` are the
 * records of the model's other kept revisions, oldest first: each becomes a lower version number
 * (Triton serves the newest; the older ones are there to roll back to). A folder inside Lodge's
 * data directory is refused: the library would take the exported graphs for models of its own.
 */
export async function exportToTriton(
  record: ModelRecord,
  request: ExportModelRequest,
  where: { readonly dataDir: string; readonly older?: readonly ModelRecord[] },
): Promise<ExportResult> {
  refusePipelineExport(record);
  if (!isAbsolute(request.dir))
    throw new LodgeError('invalid_request', 'The export folder must be an absolute path.', { param: 'dir' });
  const repository = resolve(request.dir);
  // A link outside the data directory that leads into it is refused as the folder itself would be.
  if (isInside(where.dataDir, repository) || isInside(realTarget(where.dataDir), realTarget(repository)))
    throw new LodgeError(
      'invalid_request',
      "The export folder is inside Lodge's data directory, where the library would take it for models; choose a folder outside it.",
      { param: 'dir' },
    );
  const name = request.name ?? tritonModelName(record.id);
  const candidates = keptVersions(record, request.variant, where.older);
  const newest = candidates.at(-1);
  if (newest === undefined)
    throw new LodgeError('invalid_request', `${record.id} has no graph file to export.`, {
      param: 'variant',
    });
  let signature: ReturnType<typeof readOnnxSignature>;
  try {
    signature = readOnnxSignature(newest.file);
  } catch {
    throw new LodgeError(
      'model_load_failed',
      `The graph of ${record.id} (${newest.variant}) could not be read.`,
    );
  }
  // One config.pbtxt describes every version: an older revision whose graph differs is left out.
  const { kept: versions, skipped } = sameSignatureVersions(candidates, signature, readOnnxSignature);
  const config = tritonConfig(signature, {
    name,
    task: record.task,
    instanceGroup: {
      kind: request.instanceKind === 'gpu' ? 'KIND_GPU' : 'KIND_CPU',
      count: request.instanceCount,
    },
    ...(request.maxBatchSize !== undefined ? { maxBatchSize: request.maxBatchSize } : {}),
    versionsServed: 1,
  });
  const header = [
    `${HEADER_START}${record.id} (${newest.variant}), written by Lodge ${LODGE_VERSION}.`,
    'Serve it with: tritonserver --model-repository=<the folder that holds this model folder>',
    ...(record.task === 'text-generation'
      ? [
          'A text-generation graph: each request runs one forward step (tokens, attention mask and the',
          'past KV cache in; logits and the present KV cache out). Generating text needs a client-side',
          'decode loop around it, or an LLM backend (TensorRT-LLM, vLLM) instead of this ONNX one.',
        ]
      : []),
  ];
  const text = formatTritonConfig(config, header);
  const modelDir = join(repository, name);
  const manifestFile = join(repository, `${name}.kserve.yaml`);
  if (existsSync(modelDir) && !request.overwrite)
    throw new LodgeError(
      'conflict',
      `The repository already holds a model named ${name}; export with overwrite (lodge export --force) to replace it.`,
    );
  // NOTE: overwrite replaces only what an export wrote: a folder of the user's that happens to have
  // the model's name is never deleted.
  if (existsSync(modelDir) && !isEarlierExport(modelDir))
    throw new LodgeError(
      'conflict',
      `The repository already holds a folder named ${name} that Lodge did not export; Lodge will not replace it. Choose another name or folder.`,
    );
  const plans = versions.map((version) => planVersion(version, record.id));
  const staging = join(repository, `.${name}.lodge-export-${randomUUID().slice(0, 8)}`);
  try {
    await makeFolders(staging);
    const written: ExportResult['versions'] = [];
    for (const plan of plans) written.push(await writeVersion(staging, plan));
    await writeFile(join(staging, 'config.pbtxt'), text);
    await rm(modelDir, { recursive: true, force: true });
    await rename(staging, modelDir);
    await writeFile(
      manifestFile,
      kserveManifest({
        resourceName: kubernetesName(name),
        modelName: name,
        lodgeId: record.id,
        gpu: request.instanceKind === 'gpu',
      }),
    );
    return {
      model: record.id,
      name,
      repository,
      modelDir,
      configFile: join(modelDir, 'config.pbtxt'),
      manifestFile,
      config: text,
      maxBatchSize: config.maxBatchSize,
      versions: written,
      skipped,
    };
  } catch (error) {
    // The cleanup may fail for the reason the export did (the folder is a file): the export's error is the one to tell.
    await rm(staging, { recursive: true, force: true }).catch(() => undefined);
    throw writeError(error);
  }
}
