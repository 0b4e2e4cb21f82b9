import { z } from 'zod';
import { LodgeError } from '../errors';
import { unsafeNameReason } from '../library/contained-path';
import { failureWords } from './failure-words';
import { guardedFetch, PrivateAddressError, type HubFetch } from './guarded-fetch';
import { validRepoId, validRevision } from './repo-id';

/** A file of a hub repository, as its tree lists it. */
export interface HubFile {
  readonly path: string;
  readonly size: number;
  /** SHA-256 of LFS files (the weights), from the hub's LFS pointer. */
  readonly sha256: string | null;
  /** The git blob id (SHA-1 of "blob <size>\0<content>") of files kept in git itself. */
  readonly gitOid: string | null;
}

/** A search result. */
export interface HubModel {
  readonly id: string;
  readonly downloads: number;
  readonly likes: number;
  readonly lastModified: string | null;
  readonly pipelineTag: string | null;
  readonly tags: readonly string[];
  /** The repo's file names (the hub lists them without sizes). */
  readonly files: readonly string[];
}

/** What the client needs to reach the hub: where, with which token, and how to fetch (injectable). */
export interface HubClientOptions {
  readonly endpoint: () => string;
  /** The token for the hub at `endpoint`; it is sent to that origin and nowhere else. */
  readonly token: () => string | null;
  /**
   * Origins besides the hub's own that its redirects may reach though their addresses are internal:
   * a mirror's CDN on the user's own network (`LODGE_HUB_TRUSTED_ORIGINS`). Default: none.
   */
  readonly trustedOrigins?: () => readonly string[];
  /** Default: {@link guardedFetch}, trusting only the configured hub's origin and the trusted ones. */
  readonly fetch?: HubFetch;
}

/** A revision's info, as much of it as Lodge reads: the commit, and whether the repo is gated. */
const RevisionSchema = z.object({
  sha: z.string().regex(/^[0-9a-f]{40}$/),
  gated: z.unknown().optional(),
  lastModified: z.unknown().optional(),
});

/** One entry of a hub tree listing, as much of it as Lodge reads. */
const TreeEntrySchema = z.object({
  type: z.string(),
  path: z.string(),
  size: z.number(),
  oid: z.string().optional(),
  lfs: z.object({ oid: z.string().optional(), size: z.number().optional() }).optional(),
});

/** How many redirects a download may follow (the hub redirects LFS files to its CDN). */
const MAX_REDIRECTS = 5;
/** The most of a text file (a model card) Lodge reads from the hub. */
const MAX_TEXT_BYTES = 1024 * 1024;
/** The most of an API answer (a search, a big repo's tree) Lodge reads from the hub. */
const MAX_JSON_BYTES = 64 * 1024 * 1024;

/** Up to `limit` bytes of a response's body as text; the rest is not read. */
async function readBounded(response: Response, limit: number): Promise<{ text: string; truncated: boolean }> {
  if (!response.body) return { text: '', truncated: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { text: Buffer.concat(chunks).toString('utf8'), truncated: false };
    chunks.push(value.subarray(0, Math.max(0, limit - size)));
    size += value.length;
    if (size > limit) {
      await reader.cancel();
      return { text: Buffer.concat(chunks).toString('utf8'), truncated: true };
    }
  }
}

/**
 * The Hugging Face hub's HTTP API: search, repo info, file trees, model cards and file downloads.
 * Redirects are followed by hand, and every connection to a host other than the configured hub's
 * is pinned to addresses checked to be public, so no redirect can reach a private, loopback or
 * link-local service, however its address is written or its name resolves (Ollama's SSRF through
 * pull, CVE-2026-5530, is the lesson). Repo ids, revisions and file names are checked before any
 * URL is built from them.
 */
export class HubClient {
  readonly #fetch: HubFetch;

  constructor(private readonly options: HubClientOptions) {
    this.#fetch = options.fetch ?? guardedFetch((url) => this.#trusts(url));
  }

  /**
   * Whether `url` is the configured hub or a trusted mirror origin. NOTE: trust is by origin, not
   * host name: another port on the hub's host is another service.
   */
  #trusts(url: URL): boolean {
    if (url.username !== '' || url.password !== '') return false;
    return (
      url.origin === new URL(this.#endpoint()).origin ||
      (this.options.trustedOrigins?.() ?? []).includes(url.origin)
    );
  }

  /** Repositories with ONNX weights for a task, most downloaded (or most recent) first. */
  async search(query: {
    search: string;
    task: 'text-generation' | 'feature-extraction' | 'automatic-speech-recognition' | null;
    sort: 'downloads' | 'lastModified';
    limit: number;
  }): Promise<HubModel[]> {
    const params = new URLSearchParams({
      filter: 'onnx',
      sort: query.sort,
      direction: '-1',
      limit: String(query.limit),
    });
    // With `expand`, the hub returns only the listed properties; siblings are the file names.
    for (const key of ['downloads', 'likes', 'lastModified', 'pipeline_tag', 'tags', 'siblings'])
      params.append('expand[]', key);
    if (query.search.trim() !== '') params.set('search', query.search.trim());
    if (query.task) params.set('pipeline_tag', query.task);
    const answer = await this.#json(`/api/models?${params}`);
    if (!Array.isArray(answer))
      throw new LodgeError('unavailable', 'The hub answered a search with something that is not a list.');
    const results = answer.filter(
      (entry: unknown): entry is Record<string, unknown> => typeof entry === 'object' && entry !== null,
    );
    // NOTE: a hub answers what it likes: entries without a usable repo id are dropped, and counts
    // that are not finite, non-negative numbers read as 0 (NaN cannot even be serialized).
    return results
      .flatMap((entry) => {
        const id = entry.id ?? entry.modelId;
        return typeof id === 'string' && isRepoId(id) ? [{ entry, id }] : [];
      })
      .map(({ entry, id }) => ({
        id,
        downloads: count(entry.downloads),
        likes: count(entry.likes),
        lastModified: typeof entry.lastModified === 'string' ? entry.lastModified : null,
        pipelineTag: typeof entry.pipeline_tag === 'string' ? entry.pipeline_tag : null,
        tags: Array.isArray(entry.tags)
          ? entry.tags.filter((tag): tag is string => typeof tag === 'string')
          : [],
        files: Array.isArray(entry.siblings)
          ? entry.siblings.flatMap((sibling: unknown) => {
              const name = (sibling as { rfilename?: unknown } | null)?.rfilename;
              return typeof name === 'string' ? [name] : [];
            })
          : [],
      }));
  }

  /** The commit a revision points to, when it was made (if the hub says), and whether the repo is gated. */
  async revision(
    repo: string,
    revision: string,
  ): Promise<{ sha: string; gated: boolean; committedAt: string | null }> {
    const info = RevisionSchema.safeParse(
      await this.#json(`/api/models/${repoPath(repo)}/revision/${revisionPath(revision)}`),
    );
    if (!info.success)
      throw new LodgeError('unavailable', `The hub did not say which commit ${repo}@${revision} is.`);
    const { lastModified } = info.data;
    return {
      sha: info.data.sha,
      gated: info.data.gated !== false && info.data.gated !== undefined,
      // Only a date the hub wrote as one: anything else is not shown.
      committedAt:
        typeof lastModified === 'string' && !Number.isNaN(Date.parse(lastModified))
          ? new Date(lastModified).toISOString()
          : null,
    };
  }

  /** Every file of a repo at a revision, with sizes and checksums. */
  async tree(repo: string, revision: string): Promise<HubFile[]> {
    const listed = z
      .array(TreeEntrySchema)
      .safeParse(
        await this.#json(`/api/models/${repoPath(repo)}/tree/${revisionPath(revision)}?recursive=true`),
      );
    if (!listed.success)
      throw new LodgeError('unavailable', `The hub sent a file list for ${repo} that Lodge cannot read.`);
    return listed.data
      .filter((entry) => entry.type === 'file')
      .map((entry) => ({
        path: entry.path,
        size: entry.lfs?.size ?? entry.size,
        sha256: entry.lfs?.oid ?? null,
        gitOid: entry.lfs ? null : (entry.oid ?? null),
      }));
  }

  /** A text file of a repo (the model card, a config). */
  async text(repo: string, revision: string, path: string): Promise<string | null> {
    const response = await this.download(repo, revision, path, 0);
    if (!response.ok) {
      await response.body?.cancel();
      if (response.status === 404) return null;
      throw hubError(response.status, `${repo}/${path}`);
    }
    // A card is shown, not stored: what lies beyond the limit is left on the hub.
    try {
      return (await readBounded(response, MAX_TEXT_BYTES)).text;
    } catch (error) {
      throw new LodgeError(
        'unavailable',
        `${repo}/${path} broke off: ${failureWords(error)}.`,
        {},
        { cause: error },
      );
    }
  }

  /**
   * Starts downloading a file from `offset` (an HTTP Range request when above 0). Returns the final
   * response: 200 (whole file), 206 (from offset), or an error status for the caller to explain.
   */
  async download(
    repo: string,
    revision: string,
    path: string,
    offset: number,
    signal?: AbortSignal,
  ): Promise<Response> {
    const headers: Record<string, string> = {};
    if (offset > 0) headers.range = `bytes=${offset}-`;
    if (unsafeNameReason(path) !== null)
      throw new LodgeError('forbidden', `${repo} names a file Lodge will not fetch.`);
    let url = new URL(
      `${this.#endpoint()}/${repoPath(repo)}/resolve/${revisionPath(revision)}/${path.split('/').map(encodeURIComponent).join('/')}`,
    );
    const hub = new URL(this.#endpoint());
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const token = this.options.token();
      // The token goes to the hub only, never to a redirect target elsewhere.
      const auth: Record<string, string> =
        token !== null && url.origin === hub.origin ? { authorization: `Bearer ${token}` } : {};
      let response: Response;
      try {
        response = await this.#fetch(url, {
          headers: { ...headers, ...auth },
          ...(signal ? { signal } : {}),
        });
      } catch (error) {
        if (error instanceof PrivateAddressError) throw refusedRedirect(path, url);
        throw error;
      }
      if (response.status < 300 || response.status >= 400) return response;
      const location = response.headers.get('location');
      await response.body?.cancel();
      if (!location) throw new LodgeError('unavailable', `The hub redirected ${path} without saying where.`);
      // The Location is the hub's own text: one that is no URL is the hub's fault, in words.
      if (!URL.canParse(location, url.href))
        throw new LodgeError('unavailable', `The hub redirected ${path} to a Location that is not a URL.`);
      url = new URL(location, url);
      checkTarget(url);
    }
    throw new LodgeError(
      'unavailable',
      `Downloading ${path} was redirected more than ${MAX_REDIRECTS} times.`,
    );
  }

  #endpoint(): string {
    return this.options.endpoint().replace(/\/+$/, '');
  }

  async #json(path: string): Promise<unknown> {
    const token = this.options.token();
    let response: Response;
    try {
      response = await this.#fetch(new URL(`${this.#endpoint()}${path}`), {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
    } catch (error) {
      // The words, not the message: it names the address connected to, which may be internal.
      throw new LodgeError(
        'unavailable',
        `Cannot reach the Hugging Face hub (the endpoint set in Settings): ${failureWords(error)}.`,
        { retryAfterSeconds: 5 },
        { cause: error },
      );
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw hubError(response.status, path);
    }
    let body: { text: string; truncated: boolean };
    try {
      body = await readBounded(response, MAX_JSON_BYTES);
    } catch (error) {
      throw new LodgeError(
        'unavailable',
        `The hub's answer to ${path} broke off: ${failureWords(error)}.`,
        { retryAfterSeconds: 5 },
        { cause: error },
      );
    }
    if (body.truncated)
      throw new LodgeError('unavailable', `The hub's answer to ${path} is larger than Lodge reads.`);
    try {
      return JSON.parse(body.text);
    } catch {
      throw new LodgeError('unavailable', `The hub answered ${path} with something that is not JSON.`, {
        retryAfterSeconds: 5,
      });
    }
  }
}

/**
 * Refuses a redirect that is not HTTP, or that carries credentials. Where it may connect (no
 * internal address, by literal or by name) is checked once, by the fetch ({@link guardedFetch}).
 */
function checkTarget(target: URL): void {
  if (target.protocol !== 'https:' && target.protocol !== 'http:')
    throw new LodgeError('forbidden', 'The hub redirected to something that is not HTTP.');
  if (target.username !== '' || target.password !== '')
    throw new LodgeError('forbidden', 'The hub redirected to an address with credentials in it.');
}

function refusedRedirect(path: string, target: URL): LodgeError {
  return new LodgeError(
    'forbidden',
    `The hub redirected ${path} to ${target.hostname}, a private or internal address; Lodge refuses to follow.`,
  );
}

/** A hub error status as a message the user can act on. */
export function hubError(status: number, what: string): LodgeError {
  if (status === 401 || status === 403) {
    return new LodgeError(
      'unauthorized',
      `The hub refused access to ${what}: the repo is gated or private. Accept its terms on the hub and set a Hugging Face token in Settings (or HF_TOKEN).`,
    );
  }
  if (status === 404)
    return new LodgeError('not_found', `The hub has no ${what}. Check the repo name and revision.`);
  if (status === 429)
    return new LodgeError('unavailable', `The hub is rate-limiting requests for ${what}; retry shortly.`, {
      retryAfterSeconds: 30,
    });
  return new LodgeError('unavailable', `The hub answered ${status} for ${what}; retry shortly.`, {
    retryAfterSeconds: 5,
  });
}

/** The URL path of a repo, after checking it is one (nothing else is ever put in a hub URL). */
function repoPath(repo: string): string {
  return validRepoId(repo).split('/').map(encodeURIComponent).join('/');
}

/** The URL path segment of a revision, after checking it is one. */
function revisionPath(revision: string): string {
  return encodeURIComponent(validRevision(revision));
}

/** A count from a hub answer: a finite, non-negative number, else 0. */
function count(value: unknown): number {
  const number = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  return Number.isFinite(number) && number >= 0 ? number : 0;
}

function isRepoId(id: string): boolean {
  try {
    validRepoId(id);
    return true;
  } catch {
    return false;
  }
}
