import { createHash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DownloadFile } from '../db/download-repository';
import { isDiskFull } from '../disk-full';
import { isLodgeError, LodgeError } from '../errors';
import type { Logger } from '../logging/logger';
import { failureWords, RetryableError } from './failure-words';
import { hubError, type HubClient } from './hub-client';

/** How often a file is tried before the download fails (it resumes from where it stopped). */
const MAX_ATTEMPTS = 5;

/** What fetching one file of a download needs. */
export interface FileTransfer {
  readonly hub: HubClient;
  readonly logger: Logger;
  readonly repo: string;
  readonly revision: string;
  /** The download this file belongs to, for the log. */
  readonly downloadId: string;
  readonly signal: AbortSignal;
  readonly retryDelayMs: number;
  /** Called with the bytes of every chunk written (negative when a file starts over). */
  readonly onBytes: (delta: number) => void;
}

/**
 * Passes the bytes through up to `limit` and fails on the first one beyond: a hub or CDN that
 * sends more than the file list declared cannot fill the disk, whatever it streams.
 */
function limitTo(limit: number, path: string): Transform & { exceeded: boolean } {
  let seen = 0;
  const limiter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > limit) {
        limited.exceeded = true;
        done(
          new LodgeError(
            'unavailable',
            `The hub sent more of ${path} than the size it declared; Lodge stopped and deleted the partial file. Resume to try again.`,
          ),
        );
      } else done(null, chunk);
    },
  });
  const limited = Object.assign(limiter, { exceeded: false });
  return limited;
}

/**
 * Downloads one file into `<target>.part`, resuming from what is there (HTTP Range), never
 * writing beyond the size the hub declared; retries network errors, 5xx and 429 with backoff,
 * then renames the part to `target`.
 */
export async function fetchFile(transfer: FileTransfer, file: DownloadFile, target: string): Promise<void> {
  const part = `${target}.part`;
  mkdirSync(dirname(part), { recursive: true });
  for (let attempt = 1; ; attempt++) {
    const offset = existsSync(part) ? statSync(part).size : 0;
    if (offset > file.size) {
      // Left by an older Lodge that did not stop at the size: it can only be wrong.
      rmSync(part, { force: true });
      transfer.onBytes(-offset);
      continue;
    }
    if (offset === file.size && file.size > 0) break;
    try {
      await fetchOnce(transfer, file, part, offset);
      break;
    } catch (error) {
      if (transfer.signal.aborted || isLodgeError(error) || isDiskFull(error)) throw error;
      if (attempt >= MAX_ATTEMPTS)
        throw new LodgeError(
          'unavailable',
          `Downloading ${file.path} failed ${MAX_ATTEMPTS} times: ${failureWords(error)}. Resume to try again.`,
          {},
          { cause: error },
        );
      const delay = transfer.retryDelayMs * 2 ** (attempt - 1);
      transfer.logger.warn(
        { download: transfer.downloadId, file: file.path, attempt, err: error },
        `retrying ${file.path} in ${delay} ms`,
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
  renameSync(part, target);
}

/** One request for the rest of a file, appended to (or replacing) the part. */
async function fetchOnce(
  transfer: FileTransfer,
  file: DownloadFile,
  part: string,
  offset: number,
): Promise<void> {
  const response = await transfer.hub.download(
    transfer.repo,
    transfer.revision,
    file.path,
    offset,
    transfer.signal,
  );
  if (response.status >= 500 || response.status === 429) {
    await response.body?.cancel();
    throw new RetryableError(`the hub answered ${response.status}`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw hubError(response.status, `${transfer.repo}/${file.path}`);
  }
  // A server that ignores Range sends the whole file again: start the file over.
  const append = offset > 0 && response.status === 206;
  if (offset > 0 && !append) transfer.onBytes(-offset);
  if (!response.body) throw new RetryableError('the hub sent no body');
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      transfer.onBytes(chunk.length);
      done(null, chunk);
    },
  });
  const limiter = limitTo(file.size - (append ? offset : 0), file.path);
  try {
    await pipeline(
      chunksOf(response.body),
      limiter,
      counter,
      createWriteStream(part, { flags: append ? 'a' : 'w' }),
      { signal: transfer.signal },
    );
  } catch (error) {
    if (limiter.exceeded) {
      const written = existsSync(part) ? statSync(part).size : 0;
      rmSync(part, { force: true });
      transfer.onBytes(-written);
    }
    throw error;
  }
  if (statSync(part).size < file.size) throw new RetryableError('the connection closed early');
}

/** Checks a downloaded file against the hub's checksum; a mismatch deletes it and fails the download. */
export async function verifyFile(
  repo: string,
  file: DownloadFile,
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
      `${file.path} from ${repo} does not match the hub's checksum (corrupted in transit). It was deleted; resume the download to fetch it again.`,
    );
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
