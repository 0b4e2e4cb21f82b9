import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, renameSync, rmSync, statfsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DownloadRepository, DownloadRow, DownloadStatus } from '../db/download-repository';
import { diskFullError, isDiskFull } from '../disk-full';
import { isLodgeError, LodgeError } from '../errors';
import { containedPath, makeFolderInside } from '../library/contained-path';
import type { ModelCatalog } from '../library/model-catalog';
import { validModelId } from '../library/model-id';
import { shortRevision } from '../library/revision-id';
import { placeSharedAsync, type LinkFile } from '../library/shared-files';
import { chooseVariant } from '../library/variant-choice';
import type { Logger } from '../logging/logger';
import { canMove } from './download-states';
import { failureWords } from './failure-words';
import { fetchFile, verifyFile } from './file-transfer';
import type { HubClient } from './hub-client';
import { checkRepoFiles, compatibility, filesFor } from './repo-files';
import { validRepoId } from './repo-id';

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
  /** How a file another revision holds is linked in (default: a hard link; a copy where refused). */
  readonly linkFile?: LinkFile;
}

const PROGRESS_EVERY_MS = 250;
/**
 * The most a download may declare (4 TiB; the largest open models take under 2): a file list that
 * claims more is not a model, and is refused before anything is fetched.
 */
const MAX_DOWNLOAD_BYTES = 4 * 1024 ** 4;

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
 * downloads/<id>/, so it resumes (HTTP Range) after a pause or a restart. Fetching one file (resume,
 * retries, the declared-size limit) is `file-transfer.ts`; every file is checked against the hub's
 * checksum (LFS SHA-256, or the git blob id) before the folder is moved into models/ in one rename,
 * so a model is either complete and verified, or absent. Its runs are never awaited by anyone, so
 * nothing in them throws: a failed database write is logged and the row in memory stands.
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
    const repo = validRepoId(request.repo, 'repo');
    const id = validModelId(request.id ?? repo, 'id');
    const existing = [...this.#rows.values()].find(
      (row) => row.modelId === id && ['queued', 'downloading', 'paused', 'verifying'].includes(row.status),
    );
    if (existing) return this.view(existing.id);
    // A model pulled from this repo before gets the new commit as a revision beside the ones it keeps.
    const installed = this.deps.catalog
      .entries()
      .find((model) => model.id === id && model.source.kind === 'hub' && model.source.repo === repo);
    if (
      installed === undefined &&
      (this.deps.catalog.taken(id) || existsSync(join(this.deps.modelsDir, ...id.split('/'))))
    ) {
      throw new LodgeError('conflict', `A model named ${id} is already installed.`, { param: 'id' });
    }
    const { sha, committedAt } = await this.deps.hub.revision(repo, request.revision ?? 'main');
    if (installed !== undefined && this.deps.catalog.hasRevision(id, sha))
      throw new LodgeError(
        'conflict',
        `${id} already keeps revision ${shortRevision(sha)}, the hub's ${request.revision ?? 'main'} of ${repo}: nothing new to pull.`,
        { param: 'repo' },
      );
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
    if (totalBytes > MAX_DOWNLOAD_BYTES)
      throw new LodgeError(
        'invalid_request',
        `The hub's file list for ${repo} declares ${(totalBytes / 1024 ** 4).toFixed(1)} TiB for ${variant.name}, more than any model Lodge downloads (${MAX_DOWNLOAD_BYTES / 1024 ** 4} TiB); nothing was fetched.`,
        { param: 'repo' },
      );
    // NOTE: the whole size, even for files another revision shares: where the disk has no hard
    // links they are copied, and take it.
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
      committedAt,
    };
    // The first write is the client's to hear about (a full disk is a 507); nothing is queued then.
    this.deps.repository.save(row);
    this.#rows.set(row.id, row);
    this.emit('update', this.view(row.id));
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
      this.#removeFiles(id);
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

  /**
   * Moves a download to its next state in memory, then writes it through. A failed write never
   * throws (it runs where nothing could catch it): it is logged and the row in memory stands, except
   * that a download with work left fails on a full disk, with the message every full disk gives.
   */
  #save(row: DownloadRow): void {
    const before = this.#rows.get(row.id);
    // NOTE: a move outside the table is a bug in this file, never a user's doing: fail loudly.
    if (before !== undefined && !canMove(before.status, row.status))
      throw new Error(`download ${row.id} cannot move from ${before.status} to ${row.status}`);
    let next: DownloadRow = { ...row, updatedAt: new Date().toISOString() };
    try {
      this.deps.repository.save(next);
    } catch (error) {
      this.deps.logger.error(
        { download: row.id, status: row.status, err: error },
        `could not record the download of ${row.repo} as ${row.status}`,
      );
      if (isDiskFull(error) && ['queued', 'downloading', 'verifying'].includes(next.status)) {
        next = { ...next, status: 'failed', error: diskFullError(error).message };
        const active = this.#active.get(row.id);
        if (active) active.controller.abort();
      }
    }
    this.#rows.set(row.id, next);
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
      if (this.#row(row.id).status !== 'downloading') {
        this.#active.delete(row.id);
        continue;
      }
      void this.#run(row.id, active)
        .finally(() => {
          this.#active.delete(row.id);
          this.#pump();
        })
        .catch((error: unknown) =>
          this.deps.logger.error({ download: row.id, err: error }, `the download of ${row.repo} broke`),
        );
    }
  }

  async #run(id: string, active: Active): Promise<void> {
    const dir = this.#dir(id);
    try {
      const row = this.#row(id);
      // Every target is checked before the first byte is written: one bad name refuses them all.
      const targets = row.files.map((file) => ({ file, target: this.#fileOf(row, file.path) }));
      mkdirSync(dir, { recursive: true });
      const transfer = {
        hub: this.deps.hub,
        logger: this.deps.logger,
        repo: row.repo,
        revision: row.revision,
        downloadId: id,
        signal: active.controller.signal,
        retryDelayMs: this.deps.retryDelayMs ?? 500,
        onBytes: (delta: number) => {
          active.downloaded += delta;
          if (delta > 0) this.#progress(id, active);
        },
      };
      for (const { file, target } of targets) {
        if (existsSync(target)) continue;
        // Bytes another revision already holds are linked (or copied) from it, not fetched again.
        const shared = this.deps.catalog.sharedFile(row.modelId, {
          bytes: file.size,
          sha256: file.sha256,
          gitOid: file.gitOid,
        });
        if (shared !== null) {
          await placeSharedAsync(shared, target, this.deps.linkFile);
          transfer.onBytes(file.size);
          continue;
        }
        active.currentFile = file.path;
        await fetchFile(transfer, file, target);
      }
      this.#save({ ...this.#row(id), status: 'verifying' });
      if (this.#row(id).status !== 'verifying') return;
      for (const { file, target } of targets)
        await verifyFile(row.repo, file, target, active.controller.signal);
      this.#install(this.#row(id));
    } catch (error) {
      this.#settle(id, active, error);
    }
  }

  /**
   * Moves the verified folder into models/ in one rename, and adds it to the library: a new model,
   * or a new active revision of the model it was pulled as before (its other revisions stay).
   */
  #install(row: DownloadRow): void {
    const source = { kind: 'hub', repo: row.repo, revision: row.revision } as const;
    const files = row.files.map((file) => ({
      path: file.path,
      bytes: file.size,
      sha256: file.sha256,
      gitOid: file.gitOid,
    }));
    if (this.deps.catalog.entries().some((model) => model.id === row.modelId)) {
      const folder = this.deps.catalog.revisionFolder(row.modelId, row.revision);
      if (existsSync(folder))
        throw new LodgeError(
          'conflict',
          `Revision ${shortRevision(row.revision)} of ${row.modelId} appeared while downloading; nothing was installed.`,
        );
      makeFolderInside(this.deps.modelsDir, dirname(folder));
      renameSync(this.#dir(row.id), folder);
      this.deps.catalog.addRevision(row.modelId, folder, source, files, row.committedAt ?? null);
      this.#save({ ...row, status: 'completed', error: null });
      return;
    }
    const target = join(this.deps.modelsDir, ...row.modelId.split('/'));
    if (existsSync(target))
      throw new LodgeError(
        'conflict',
        `models/${row.modelId} appeared while downloading; nothing was installed.`,
      );
    makeFolderInside(this.deps.modelsDir, dirname(target));
    renameSync(this.#dir(row.id), target);
    this.deps.catalog.register(target, row.modelId, source, files, row.committedAt ?? null);
    this.#save({ ...row, status: 'completed', error: null });
    this.deps.logger.info(
      { download: row.id, model: row.modelId },
      `installed ${row.modelId} from ${row.repo}`,
    );
  }

  /** Records how a run ended; never throws, since nothing awaits a run to catch it. */
  #settle(id: string, active: Active, error: unknown): void {
    try {
      const row = this.#row(id);
      // A full disk while recording a state already failed the download (see #save).
      if (row.status === 'failed') return;
      const status: DownloadStatus =
        active.reason === 'pause'
          ? 'paused'
          : active.reason === 'shutdown'
            ? 'queued'
            : active.reason === 'cancel'
              ? 'cancelled'
              : 'failed';
      if (status === 'cancelled') this.#removeFiles(id);
      let message: string | null = null;
      if (status === 'failed') {
        if (isDiskFull(error)) {
          this.#removeFiles(id);
          message =
            'The disk filled up during the download; what was fetched was deleted. Free some space and start it again.';
        } else
          message = isLodgeError(error)
            ? error.message
            : `The download of ${row.repo} failed: ${failureWords(error)}. Resume to try again.`;
        this.deps.logger.warn({ download: id, err: error }, `download of ${row.repo} failed: ${message}`);
      }
      this.#save({ ...row, status, error: message });
    } catch (failure) {
      this.deps.logger.error({ download: id, err: failure, cause: error }, `could not settle download ${id}`);
    }
  }

  /** Deletes what a download fetched; a failure to is logged (the folder is retried on cancel). */
  #removeFiles(id: string): void {
    try {
      rmSync(this.#dir(id), { recursive: true, force: true });
    } catch (error) {
      this.deps.logger.warn({ download: id, err: error }, `could not delete the files of download ${id}`);
    }
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

function freeBytesOf(dir: string): number {
  mkdirSync(dir, { recursive: true });
  const stats = statfsSync(dir);
  return stats.bavail * stats.bsize;
}
