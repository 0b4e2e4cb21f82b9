import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  renameSync,
  rmSync,
  statfsSync,
  statSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DownloadRepository, DownloadRow, DownloadStatus } from '../db/download-repository';
import { canMove } from './download-states';
import { isLodgeError, LodgeError } from '../errors';
import { containedPath, makeFolderInside } from '../library/contained-path';
import type { ModelCatalog } from '../library/model-catalog';
import { validModelId } from '../library/model-id';
import { chooseVariant } from '../library/variant-choice';
import type { Logger } from '../logging/logger';
import { hubError, type HubClient } from './hub-client';
import { checkRepoFiles, compatibility, filesFor } from './repo-files';

/** A download as the API shows it, with live progress. */
export interface DownloadView extends Omit<DownloadRow, 'files'> {
  readonly files: readonly { readonly path: string; readonly size: number }[];
  readonly downloadedBytes: number;
  readonly bytesPerSecond: number;
  /** Seconds left at the current speed; null when unknown. */
  readonly etaSeconds: number | null;
  readonly currentFile: string | null;
}

/** What the manager tells listeners. */
export interface DownloadEvents {
  /** Progress of a running download (at most a few times a second) and every change of state. */
  update: [download: DownloadView];
}

/** What the manager is built from; free space, retry delay and concurrency are injectable for tests. */
export interface DownloadManagerDeps {
  readonly hub: HubClient;
  readonly repository: DownloadRepository;
  readonly catalog: ModelCatalog;
  readonly downloadsDir: string;
  readonly modelsDir: string;
  readonly logger: Logger;
  readonly freeBytes?: (dir: string) => number;
  readonly retryDelayMs?: number;
  readonly maxConcurrent?: number;
}

const MAX_ATTEMPTS = 5;
const PROGRESS_EVERY_MS = 250;

interface Active {
  readonly controller: AbortController;
  /** Why it was aborted: the user paused or cancelled it, or the app is closing. */
  reason: 'pause' | 'cancel' | 'shutdown' | null;
  downloaded: number;
  /** `downloaded` at the last progress event, for the speed estimate. */
  lastBytes: number;
  speed: number;
  currentFile: string | null;
  lastEmit: number;
}

/**
 * Downloads models from the hub. Each download's state lives in SQLite and its partial files in
 * downloads/<id>/, so it resumes (HTTP Range) after a pause or a restart. Network errors, 5xx and
 * 429 are retried with backoff; every file is checked against the hub's checksum (LFS SHA-256, or
 * the git blob id) before the folder is moved into models/ in one rename, so a model is either
 * complete and verified, or absent.
 */
export class DownloadManager extends EventEmitter<DownloadEvents> {
  readonly #rows = new Map<string, DownloadRow>();
  readonly #active = new Map<string, Active>();
  readonly #maxConcurrent: number;
  #disposed = false;

  constructor(private readonly deps: DownloadManagerDeps) {
    super();
    this.#maxConcurrent = deps.maxConcurrent ?? 2;
    const { rows, invalid } = deps.repository.load();
    for (const row of rows) this.#rows.set(row.id, row);
    for (const { id, reason } of invalid)
      deps.logger.warn({ download: id, reason }, `ignored the stored download ${id}: ${reason}`);
  }

  /** Re-queues what was downloading when the app stopped. */
  resumeInterrupted(): void {
    for (const row of this.#rows.values()) {
      if (row.status === 'downloading' || row.status === 'verifying')
        this.#save({ ...row, status: 'queued' });
    }
    this.#pump();
  }

  /**
   * Starts downloading `repo` (a variant of it; by default the best for the CPU) as the model
   * `id` (default: the repo name). Refuses before downloading anything when the disk is too small.
   */
  async start(request: {
    repo: string;
    revision?: string | undefined;
    variant?: string | undefined;
    id?: string | undefined;
  }): Promise<DownloadView> {
    const repo = validModelId(request.repo, 'repo');
    const id = validModelId(request.id ?? repo, 'id');
    const existing = [...this.#rows.values()].find(
      (row) => row.modelId === id && ['queued', 'downloading', 'paused', 'verifying'].includes(row.status),
    );
    if (existing) return this.view(existing.id);
    if (
      this.deps.catalog.entries().some((model) => model.id === id) ||
      existsSync(join(this.deps.modelsDir, ...id.split('/')))
    ) {
      throw new LodgeError('conflict', `A model named ${id} is already installed.`, { param: 'id' });
    }
    const { sha } = await this.deps.hub.revision(repo, request.revision ?? 'main');
    const files = await this.deps.hub.tree(repo, sha);
    checkRepoFiles(repo, files);
    const offer = compatibility(files);
    if (offer.problem !== null || offer.variants.length === 0)
      throw new LodgeError(
        'invalid_request',
        `Lodge cannot run ${repo}: ${offer.problem ?? 'it has no ONNX weights'}.`,
      );
    const wanted = request.variant;
    const offered = offer.variants.find((entry) => entry.name === wanted);
    if (wanted !== undefined && offered === undefined) {
      throw new LodgeError(
        'invalid_request',
        `${repo} has no variant ${wanted}. Its variants: ${offer.variants.map((variant) => variant.name).join(', ')}.`,
        { param: 'variant' },
      );
    }
    const variant = offered ?? chooseVariant({ variants: offer.variants }, null);
    const needed = filesFor(files, variant);
    const totalBytes = needed.reduce((sum, file) => sum + file.size, 0);
    this.#checkSpace(totalBytes);
    const now = new Date().toISOString();
    const row: DownloadRow = {
      id: randomUUID(),
      repo,
      revision: sha,
      variant: variant.name,
      modelId: id,
      status: 'queued',
      files: needed.map((file) => ({
        path: file.path,
        size: file.size,
        sha256: file.sha256,
        gitOid: file.gitOid,
      })),
      totalBytes,
      error: null,
      createdAt: now,
      updatedAt: now,
    };
    this.#save(row);
    this.deps.logger.info(
      { download: row.id, repo, variant: variant.name, bytes: totalBytes },
      `queued ${repo} (${variant.name})`,
    );
    this.#pump();
    return this.view(row.id);
  }

  /** Stops a download, keeping what it fetched so far. */
  pause(id: string): DownloadView {
    const row = this.#row(id);
    if (row.status === 'queued') this.#save({ ...row, status: 'paused' });
    const active = this.#active.get(id);
    if (active) {
      active.reason = 'pause';
      active.controller.abort();
    }
    return this.view(id);
  }

  /** Continues a paused or failed download from where it stopped. */
  resume(id: string): DownloadView {
    const row = this.#row(id);
    if (row.status === 'paused' || row.status === 'failed')
      this.#save({ ...row, status: 'queued', error: null });
    this.#pump();
    return this.view(id);
  }

  /** Stops a download and deletes what it fetched. */
  cancel(id: string): DownloadView {
    const row = this.#row(id);
    const active = this.#active.get(id);
    if (active) {
      active.reason = 'cancel';
      active.controller.abort();
    } else if (!['completed', 'cancelled'].includes(row.status)) {
      rmSync(this.#dir(id), { recursive: true, force: true });
      this.#save({ ...row, status: 'cancelled' });
    }
    return this.view(id);
  }

  /** Every download, newest first. */
  list(): DownloadView[] {
    return [...this.#rows.keys()].reverse().map((id) => this.view(id));
  }

  /** One download with its progress. */
  view(id: string): DownloadView {
    const row = this.#row(id);
    const active = this.#active.get(id);
    const downloaded =
      active?.downloaded ?? (row.status === 'completed' ? row.totalBytes : this.#bytesOnDisk(row));
    const speed = active?.speed ?? 0;
    return {
      ...row,
      files: row.files.map((file) => ({ path: file.path, size: file.size })),
      downloadedBytes: downloaded,
      bytesPerSecond: Math.round(speed),
      etaSeconds: speed > 0 ? Math.round((row.totalBytes - downloaded) / speed) : null,
      currentFile: active?.currentFile ?? null,
    };
  }

  /** Stops running downloads (they resume at the next start). */
  async dispose(): Promise<void> {
    this.#disposed = true;
    for (const active of this.#active.values()) {
      active.reason = 'shutdown';
      active.controller.abort();
    }
    while (this.#active.size > 0) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  #row(id: string): DownloadRow {
    const row = this.#rows.get(id);
    if (!row) throw new LodgeError('not_found', `There is no download ${id}.`);
    return row;
  }

  #save(row: DownloadRow): void {
    const before = this.#rows.get(row.id);
    // NOTE: a move outside the table is a bug in this file, never a user's doing: fail loudly.
    if (before !== undefined && !canMove(before.status, row.status))
      throw new Error(`download ${row.id} cannot move from ${before.status} to ${row.status}`);
    const next = { ...row, updatedAt: new Date().toISOString() };
    this.#rows.set(row.id, next);
    this.deps.repository.save(next);
    this.emit('update', this.view(row.id));
  }

  #dir(id: string): string {
    return join(this.deps.downloadsDir, id);
  }

  /** Where a file of a download lives: always inside its folder, whatever the hub named it. */
  #fileOf(row: DownloadRow, path: string): string {
    return containedPath(this.#dir(row.id), path, `The download of ${row.repo}`);
  }

  #bytesOnDisk(row: DownloadRow): number {
    let bytes = 0;
    for (const file of row.files) {
      let done: string;
      try {
        done = this.#fileOf(row, file.path);
      } catch {
        continue; // A row that names an unsafe file fails when it runs; here it just has no bytes.
      }
      if (existsSync(done)) bytes += statSync(done).size;
      else if (existsSync(`${done}.part`)) bytes += statSync(`${done}.part`).size;
    }
    return bytes;
  }

  #checkSpace(bytes: number): void {
    const free = this.deps.freeBytes
      ? this.deps.freeBytes(this.deps.downloadsDir)
      : freeBytesOf(this.deps.downloadsDir);
    if (free < bytes * 1.02) {
      const gib = (value: number) => `${(value / 1024 ** 3).toFixed(2)} GiB`;
      throw new LodgeError(
        'insufficient_storage',
        `Not enough disk space: this download needs ${gib(bytes)}, and ${gib(free)} is free. Free some space or choose a smaller variant.`,
      );
    }
  }

  #pump(): void {
    if (this.#disposed) return;
    for (const row of this.#rows.values()) {
      if (this.#active.size >= this.#maxConcurrent) return;
      if (row.status !== 'queued' || this.#active.has(row.id)) continue;
      const onDisk = this.#bytesOnDisk(row);
      const active: Active = {
        controller: new AbortController(),
        reason: null,
        downloaded: onDisk,
        lastBytes: onDisk,
        speed: 0,
        currentFile: null,
        lastEmit: 0,
      };
      this.#active.set(row.id, active);
      this.#save({ ...row, status: 'downloading' });
      void this.#run(row.id, active).finally(() => {
        this.#active.delete(row.id);
        this.#pump();
      });
    }
  }

  async #run(id: string, active: Active): Promise<void> {
    const dir = this.#dir(id);
    try {
      const row = this.#row(id);
      // Every target is checked before the first byte is written: one bad name refuses them all.
      const targets = row.files.map((file) => ({ file, target: this.#fileOf(row, file.path) }));
      mkdirSync(dir, { recursive: true });
      for (const { file, target } of targets) {
        if (existsSync(target)) continue;
        active.currentFile = file.path;
        await this.#fetchFile(row, file, target, active);
      }
      this.#save({ ...this.#row(id), status: 'verifying' });
      for (const { file, target } of targets) await this.#verify(row, file, target, active.controller.signal);
      this.#install(this.#row(id));
    } catch (error) {
      this.#settle(id, active, error);
    }
  }

  /** Downloads one file into `<target>.part` (resuming), with retries, then renames it to `target`. */
  async #fetchFile(
    row: DownloadRow,
    file: DownloadRow['files'][number],
    target: string,
    active: Active,
  ): Promise<void> {
    const part = `${target}.part`;
    mkdirSync(dirname(part), { recursive: true });
    for (let attempt = 1; ; attempt++) {
      const offset = existsSync(part) ? statSync(part).size : 0;
      if (offset >= file.size && file.size > 0) break;
      try {
        const response = await this.deps.hub.download(
          row.repo,
          row.revision,
          file.path,
          offset,
          active.controller.signal,
        );
        if (response.status >= 500 || response.status === 429)
          throw Object.assign(new Error(`the hub answered ${response.status}`), { retryable: true });
        if (!response.ok) throw hubError(response.status, `${row.repo}/${file.path}`);
        // A server that ignores Range sends the whole file again: start the file over.
        const append = offset > 0 && response.status === 206;
        if (offset > 0 && !append) active.downloaded -= offset;
        const counter = new Transform({
          transform: (chunk: Buffer, _encoding, done) => {
            active.downloaded += chunk.length;
            this.#progress(row.id, active);
            done(null, chunk);
          },
        });
        if (!response.body) throw Object.assign(new Error('the hub sent no body'), { retryable: true });
        await pipeline(
          chunksOf(response.body),
          counter,
          createWriteStream(part, { flags: append ? 'a' : 'w' }),
          { signal: active.controller.signal },
        );
        if (statSync(part).size < file.size)
          throw Object.assign(new Error('the connection closed early'), { retryable: true });
        break;
      } catch (error) {
        if (
          active.controller.signal.aborted ||
          isLodgeError(error) ||
          (error as NodeJS.ErrnoException).code === 'ENOSPC'
        )
          throw error;
        if (attempt >= MAX_ATTEMPTS)
          throw new LodgeError(
            'unavailable',
            `Downloading ${file.path} failed ${MAX_ATTEMPTS} times: ${(error as Error).message}. Resume to try again.`,
          );
        const delay = (this.deps.retryDelayMs ?? 500) * 2 ** (attempt - 1);
        this.deps.logger.warn(
          { download: row.id, file: file.path, attempt, err: (error as Error).message },
          `retrying ${file.path} in ${delay} ms`,
        );
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
    renameSync(part, target);
  }

  /** Checks a downloaded file against the hub's checksum; a mismatch deletes it and fails the download. */
  async #verify(
    row: DownloadRow,
    file: DownloadRow['files'][number],
    path: string,
    signal: AbortSignal,
  ): Promise<void> {
    const sha256 = createHash('sha256');
    const gitSha1 = createHash('sha1').update(`blob ${statSync(path).size}\0`);
    for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024, signal })) {
      sha256.update(chunk as Buffer);
      gitSha1.update(chunk as Buffer);
    }
    const actual = file.sha256 !== null ? sha256.digest('hex') : gitSha1.digest('hex');
    const expected = file.sha256 ?? file.gitOid;
    if (expected !== null && actual !== expected) {
      rmSync(path, { force: true });
      throw new LodgeError(
        'model_load_failed',
        `${file.path} from ${row.repo} does not match the hub's checksum (corrupted in transit). It was deleted; resume the download to fetch it again.`,
      );
    }
  }

  /** Moves the verified folder into models/ in one rename, and adds it to the library. */
  #install(row: DownloadRow): void {
    const target = join(this.deps.modelsDir, ...row.modelId.split('/'));
    if (existsSync(target))
      throw new LodgeError(
        'conflict',
        `models/${row.modelId} appeared while downloading; nothing was installed.`,
      );
    makeFolderInside(this.deps.modelsDir, dirname(target));
    renameSync(this.#dir(row.id), target);
    this.deps.catalog.register(
      target,
      row.modelId,
      { kind: 'hub', repo: row.repo, revision: row.revision },
      row.files.map((file) => ({ path: file.path, bytes: file.size, sha256: file.sha256 })),
    );
    this.#save({ ...row, status: 'completed', error: null });
    this.deps.logger.info(
      { download: row.id, model: row.modelId },
      `installed ${row.modelId} from ${row.repo}`,
    );
  }

  #settle(id: string, active: Active, error: unknown): void {
    const row = this.#row(id);
    const status: DownloadStatus =
      active.reason === 'pause' || active.reason === 'shutdown'
        ? active.reason === 'pause'
          ? 'paused'
          : 'queued'
        : active.reason === 'cancel'
          ? 'cancelled'
          : 'failed';
    if (status === 'cancelled') rmSync(this.#dir(id), { recursive: true, force: true });
    let message: string | null = null;
    if (status === 'failed') {
      if ((error as NodeJS.ErrnoException).code === 'ENOSPC') {
        rmSync(this.#dir(id), { recursive: true, force: true });
        message =
          'The disk filled up during the download; what was fetched was deleted. Free some space and start it again.';
      } else
        message = isLodgeError(error) ? error.message : `The download failed: ${(error as Error).message}`;
      this.deps.logger.warn({ download: id, err: message }, `download of ${row.repo} failed`);
    }
    this.#save({ ...row, status, error: message });
  }

  #progress(id: string, active: Active): void {
    const now = Date.now();
    if (now - active.lastEmit < PROGRESS_EVERY_MS) return;
    const elapsed = active.lastEmit === 0 ? 0 : (now - active.lastEmit) / 1000;
    if (elapsed > 0) {
      const instant = (active.downloaded - active.lastBytes) / elapsed;
      active.speed = active.speed === 0 ? instant : active.speed * 0.7 + instant * 0.3;
    }
    active.lastBytes = active.downloaded;
    active.lastEmit = now;
    this.emit('update', this.view(id));
  }
}

/** The chunks of a response body; a consumer that stops early cancels the body (and its socket). */
async function* chunksOf(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

function freeBytesOf(dir: string): number {
  mkdirSync(dir, { recursive: true });
  const stats = statfsSync(dir);
  return stats.bavail * stats.bsize;
}
