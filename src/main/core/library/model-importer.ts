import { createHash } from 'node:crypto';
import {
  copyFileSync,
  createReadStream,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { ModelFile, ModelSource } from '../../../shared/contract/library';
import { LodgeError } from '../errors';
import { isInside, makeFolderInside } from './contained-path';
import { expandHome } from './home-path';
import { folderFiles, inspectModelFolder } from './model-folder';
import { validModelId } from './model-id';
import type { FolderInfo } from './model-record';
import { isDiskFull } from '../disk-full';
import { contentRevision } from './revision-id';
import { placeSharedAsync } from './shared-files';

/** The kernel's virtual file systems: nothing in them is a model, and reading some never ends. */
const SYSTEM_TREES = ['/proc', '/sys', '/dev'];

/** Bytes hashed (and copied) so far for an import. */
export interface ImportProgress {
  readonly id: string;
  readonly doneBytes: number;
  readonly totalBytes: number;
}

/** What an import found and made: the folder's contents, where it came from, its hashed files. */
export interface ImportedModel {
  readonly info: FolderInfo;
  readonly source: ModelSource;
  readonly files: ModelFile[];
}

/** A re-import: its revision, and (when that revision is new) the folder it was put in. */
export interface ImportedRevision {
  readonly revision: string;
  /** What the new folder holds; null when the model already kept this content (nothing was copied). */
  readonly info: FolderInfo | null;
  readonly dir: string;
  readonly source: ModelSource;
  readonly files: ModelFile[];
}

/** Error codes that mean a file of a folder cannot be read (as opposed to the disk failing). */
const UNREADABLE = new Set(['EACCES', 'EPERM', 'ENOENT', 'EISDIR', 'ELOOP', 'EIO']);

/** The SHA-256 of a file, streamed; `onBytes` hears of each chunk. */
export async function sha256File(path: string, onBytes?: (bytes: number) => void): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    hash.update(chunk as Buffer);
    onBytes?.((chunk as Buffer).length);
  }
  return hash.digest('hex');
}

/**
 * Brings models into the library's folder: imports from elsewhere on this machine (validated
 * first, copied into models/ or used in place, every file hashed), copies of a model, and the
 * checks that keep every file operation inside models/. It touches files only; the catalog records
 * what it made.
 */
export class ModelImporter {
  constructor(
    private readonly modelsDir: string,
    private readonly onProgress: (progress: ImportProgress) => void,
  ) {}

  /**
   * Imports a model folder or `.onnx` file: validated first (with the reason when Lodge cannot run
   * it), then copied into models/ or registered where it is. `taken` says whether an id is in use.
   */
  async import(
    options: { path: string; mode: 'copy' | 'in-place'; id?: string | undefined },
    taken: (id: string) => boolean,
  ): Promise<ImportedModel> {
    const { source, single, id } = this.#check(options);
    if (taken(id))
      throw new LodgeError('conflict', `A model named ${id} already exists; choose another id.`, {
        param: 'id',
      });

    const folder = single ? dirname(source) : source;
    if (options.mode === 'in-place') {
      if (single && readdirSync(folder).filter((name) => name.endsWith('.onnx')).length !== 1) {
        throw new LodgeError(
          'invalid_request',
          'The folder of that file holds other .onnx files; import this file as a copy instead.',
          { param: 'mode' },
        );
      }
      const info = this.inspectOrExplain(folder, id);
      const files = await this.hashFiles(id, folder, folderFiles(folder));
      return { info, source: { kind: 'import', path: source, inPlace: true }, files };
    }

    // Copy: validate the source first, copy into a hidden folder beside the target, then rename.
    if (!single) this.inspectOrExplain(source, id);
    const target = this.folderOf(id);
    if (existsSync(target))
      throw new LodgeError('conflict', `models/${id} already exists on disk.`, { param: 'id' });
    const staging = join(this.modelsDir, `.importing-${id.replace('/', '--')}-${process.pid}`);
    rmSync(staging, { recursive: true, force: true });
    try {
      const list = single ? [{ path: basename(source), bytes: statSync(source).size }] : folderFiles(source);
      const files = await this.hashFiles(id, single ? folder : source, list, staging);
      makeFolderInside(this.modelsDir, dirname(target));
      renameSync(staging, target);
      return {
        info: this.inspectOrExplain(target, id),
        source: { kind: 'import', path: source, inPlace: false },
        files,
      };
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      if (isDiskFull(error)) {
        throw new LodgeError(
          'insufficient_storage',
          'The disk is full: the import was undone. Free some space and try again.',
          {},
          { cause: error },
        );
      }
      throw error;
    }
  }

  /**
   * Imports a folder (or `.onnx` file) again into the model `id` it was imported as before: every
   * file is hashed first, without copying; content the model already keeps is that revision
   * (nothing is copied, `info` is null); new content becomes a new revision folder in which each
   * file the library already holds is a hard link to it, and only the others are copied.
   */
  async importRevision(
    options: { path: string; mode: 'copy' | 'in-place'; id?: string | undefined },
    id: string,
    revisions: {
      exists: (revision: string) => boolean;
      folderFor: (revision: string) => string;
      sharedFile: (file: { bytes: number; sha256: string | null; gitOid: string | null }) => string | null;
    },
  ): Promise<ImportedRevision> {
    const checked = this.#check(options);
    const from = checked.single ? dirname(checked.source) : checked.source;
    const list = checked.single
      ? [{ path: basename(checked.source), bytes: statSync(checked.source).size }]
      : folderFiles(checked.source);
    if (!checked.single) this.inspectOrExplain(checked.source, id);
    const files = await this.hashFiles(id, from, list);
    const revision = contentRevision(files);
    if (revision === null) throw new Error(`the import of ${id} left a file without its checksum`);
    const source: ModelSource = { kind: 'import', path: checked.source, inPlace: false };
    const target = revisions.folderFor(revision);
    if (revisions.exists(revision)) return { revision, info: null, dir: target, source, files };
    const staging = `${target}.importing-${process.pid}`;
    makeFolderInside(this.modelsDir, dirname(target));
    rmSync(staging, { recursive: true, force: true });
    try {
      for (const file of files) {
        const to = join(staging, file.path);
        const shared = revisions.sharedFile({ bytes: file.bytes, sha256: file.sha256, gitOid: null });
        if (shared !== null) await placeSharedAsync(shared, to);
        else {
          mkdirSync(dirname(to), { recursive: true });
          await copyFile(join(from, file.path), to);
        }
      }
      rmSync(target, { recursive: true, force: true });
      renameSync(staging, target);
      return { revision, info: this.inspectOrExplain(target, id), dir: target, source, files };
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      if (isDiskFull(error))
        throw new LodgeError(
          'insufficient_storage',
          'The disk is full: the import was undone. Free some space and try again.',
          {},
          { cause: error },
        );
      throw error;
    }
  }

  /** Checks what an import names: an absolute path to a model folder or an `.onnx` file, and its id. */
  #check(options: { path: string; id?: string | undefined }): {
    source: string;
    single: boolean;
    id: string;
  } {
    const requested = expandHome(options.path);
    if (!isAbsolute(requested))
      throw new LodgeError('invalid_request', 'The path to import must be absolute (or start with ~/).', {
        param: 'path',
      });
    const source = resolve(requested);
    if (!existsSync(source))
      throw new LodgeError('invalid_request', 'Nothing exists at that path.', { param: 'path' });
    const kind = statSync(source);
    if (!kind.isFile() && !kind.isDirectory())
      throw new LodgeError(
        'invalid_request',
        'Only a model folder or an .onnx file can be imported; that path is neither a regular file nor a folder.',
        { param: 'path' },
      );
    // NOTE: what a path names is judged by where it really leads: a link into the kernel's virtual
    // file systems (/proc, /sys, /dev) holds no model, whatever its name says.
    const real = realpathSync(source);
    if (SYSTEM_TREES.some((tree) => real === tree || real.startsWith(`${tree}/`)))
      throw new LodgeError('invalid_request', 'That path leads into a system folder that holds no model.', {
        param: 'path',
      });
    const single = kind.isFile();
    if (single && kind.size === 0)
      throw new LodgeError('invalid_request', 'That file is empty: it is not an ONNX model.', {
        param: 'path',
      });
    if (single && !source.endsWith('.onnx'))
      throw new LodgeError('invalid_request', 'A single file to import must be an .onnx model.', {
        param: 'path',
      });
    const id = validModelId(options.id ?? basename(source).replace(/\.onnx$/, ''), 'id');
    return { source, single, id };
  }

  /** Copies the folder of a model to the new model `id` in models/, file by file. */
  copy(from: string, id: string): FolderInfo {
    const target = this.folderOf(id);
    if (existsSync(target))
      throw new LodgeError('conflict', `models/${id} already exists on disk.`, { param: 'destination' });
    this.inside(from);
    // NOTE: outside the try: when this refuses (a link on the way), nothing under target is ours to remove.
    makeFolderInside(this.modelsDir, dirname(target));
    try {
      for (const file of folderFiles(from)) {
        const to = join(target, file.path);
        mkdirSync(dirname(to), { recursive: true });
        copyFileSync(join(from, file.path), to);
      }
      return this.inspectOrExplain(target, id);
    } catch (error) {
      // A copy that failed half-way (a full disk, most often) leaves no half a model behind.
      rmSync(target, { recursive: true, force: true });
      if (isDiskFull(error))
        throw new LodgeError(
          'insufficient_storage',
          'The disk is full: the copy was undone. Free some space and try again.',
          {},
          { cause: error },
        );
      throw error;
    }
  }

  /** Where the model `id` lives in models/ (the id is checked before it gets here). */
  folderOf(id: string): string {
    return join(this.modelsDir, ...id.split('/'));
  }

  /** What a folder holds, or a 400 saying why Lodge cannot run it. */
  inspectOrExplain(dir: string, id: string): FolderInfo {
    const result = inspectModelFolder(dir, id);
    if ('reason' in result)
      throw new LodgeError('invalid_request', `Lodge cannot run this: the folder ${result.reason}.`, {
        param: 'path',
      });
    return result.record;
  }

  /** Hashes `files` under `from` (copying each to `to` as it goes, when given), reporting progress. */
  async hashFiles(
    id: string,
    from: string,
    files: readonly { path: string; bytes: number }[],
    to?: string,
    signal?: AbortSignal,
  ): Promise<ModelFile[]> {
    const totalBytes = files.reduce((sum, file) => sum + file.bytes, 0);
    let doneBytes = 0;
    let reported = 0;
    const hashed: ModelFile[] = [];
    for (const file of files) {
      if (signal?.aborted) throw new LodgeError('cancelled', 'Checksumming was stopped.');
      const source = join(from, file.path);
      let sha256: string;
      try {
        sha256 = await sha256File(source, (bytes) => {
          doneBytes += bytes;
          if (doneBytes - reported >= 8 * 1024 * 1024 || doneBytes === totalBytes) {
            reported = doneBytes;
            this.onProgress({ id, doneBytes, totalBytes });
          }
        });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === undefined || !UNREADABLE.has(code)) throw error;
        throw new LodgeError('invalid_request', `Lodge cannot read ${file.path} of ${id} (${code}).`, {
          param: 'path',
        });
      }
      if (to !== undefined) {
        mkdirSync(dirname(join(to, file.path)), { recursive: true });
        await copyFile(source, join(to, file.path));
      }
      hashed.push({ path: file.path, bytes: file.bytes, sha256 });
    }
    return hashed;
  }

  /**
   * `path`, symlinks resolved, when it lies below the models folder and is not itself a symlink;
   * otherwise a `forbidden` error: Lodge never deletes or copies through a link out of models/.
   */
  inside(path: string): string {
    const root = realpathSync(this.modelsDir);
    const real = realpathSync(path);
    if (real === root || !isInside(root, real) || lstatSync(path).isSymbolicLink()) {
      throw new LodgeError(
        'forbidden',
        'That model lies outside the models folder; Lodge will not touch it.',
      );
    }
    return real;
  }
}
