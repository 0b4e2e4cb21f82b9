import { isIP } from 'node:net';
import { LodgeError } from '../errors';

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
  readonly token: () => string | null;
  readonly fetch?: typeof fetch;
}

/** How many redirects a download may follow (the hub redirects LFS files to its CDN). */
const MAX_REDIRECTS = 5;

/**
 * The Hugging Face hub's HTTP API: search, repo info, file trees, model cards and file downloads.
 * Redirects are followed by hand so that none can lead to a private or loopback address unless the
 * hub itself is there (Ollama's SSRF through pull, CVE-2026-5530, is the lesson).
 */
export class HubClient {
  readonly #fetch: typeof fetch;

  constructor(private readonly options: HubClientOptions) {
    this.#fetch = options.fetch ?? fetch;
  }

  /** Repositories with ONNX weights for a task, most downloaded (or most recent) first. */
  async search(query: {
    search: string;
    task: 'text-generation' | 'feature-extraction' | null;
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
    const results = (await this.#json(`/api/models?${params}`)) as Record<string, unknown>[];
    return results.map((entry) => ({
      id: String(entry.id ?? entry.modelId ?? ''),
      downloads: Number(entry.downloads ?? 0),
      likes: Number(entry.likes ?? 0),
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

  /** The commit a revision points to, and whether the repo is gated. */
  async revision(repo: string, revision: string): Promise<{ sha: string; gated: boolean }> {
    const info = (await this.#json(
      `/api/models/${repoPath(repo)}/revision/${encodeURIComponent(revision)}`,
    )) as { sha?: string; gated?: unknown };
    if (typeof info.sha !== 'string')
      throw new LodgeError('unavailable', `The hub did not say which commit ${repo}@${revision} is.`);
    return { sha: info.sha, gated: info.gated !== false && info.gated !== undefined };
  }

  /** Every file of a repo at a revision, with sizes and checksums. */
  async tree(repo: string, revision: string): Promise<HubFile[]> {
    const entries = (await this.#json(
      `/api/models/${repoPath(repo)}/tree/${encodeURIComponent(revision)}?recursive=true`,
    )) as {
      type: string;
      path: string;
      size: number;
      oid?: string;
      lfs?: { oid?: string; size?: number };
    }[];
    return entries
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
    if (response.status === 404) return null;
    return response.text();
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
    let url = new URL(
      `${this.#endpoint()}/${repoPath(repo)}/resolve/${encodeURIComponent(revision)}/${path.split('/').map(encodeURIComponent).join('/')}`,
    );
    const origin = url.origin;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const token = this.options.token();
      // The token goes to the hub only, never to a redirect target elsewhere.
      const auth = token !== null && url.origin === origin ? { authorization: `Bearer ${token}` } : {};
      const response = await this.#fetch(url, {
        headers: { ...headers, ...auth },
        redirect: 'manual',
        ...(signal ? { signal } : {}),
      });
      if (response.status < 300 || response.status >= 400) return response;
      const location = response.headers.get('location');
      await response.body?.cancel();
      if (!location) throw new LodgeError('unavailable', `The hub redirected ${path} without saying where.`);
      url = new URL(location, url);
      this.#checkTarget(url, new URL(origin));
    }
    throw new LodgeError(
      'unavailable',
      `Downloading ${path} was redirected more than ${MAX_REDIRECTS} times.`,
    );
  }

  #endpoint(): string {
    return this.options.endpoint().replace(/\/+$/, '');
  }

  /** Refuses redirects to private, loopback or link-local addresses, unless the hub itself lives there. */
  #checkTarget(target: URL, hub: URL): void {
    if (target.protocol !== 'https:' && target.protocol !== 'http:')
      throw new LodgeError('forbidden', 'The hub redirected to something that is not HTTP.');
    const hubIsLocal = isPrivateHost(hub.hostname);
    if (!hubIsLocal && isPrivateHost(target.hostname)) {
      throw new LodgeError(
        'forbidden',
        `The hub redirected a download to ${target.hostname}, a private address; Lodge refuses to follow.`,
      );
    }
  }

  async #json(path: string): Promise<unknown> {
    const token = this.options.token();
    let response: Response;
    try {
      response = await this.#fetch(`${this.#endpoint()}${path}`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
    } catch (error) {
      throw new LodgeError(
        'unavailable',
        `Cannot reach the Hugging Face hub at ${this.#endpoint()}: ${(error as Error).message}.`,
        { retryAfterSeconds: 5 },
      );
    }
    if (!response.ok) throw hubError(response.status, path);
    return response.json();
  }
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

function repoPath(repo: string): string {
  return repo.split('/').map(encodeURIComponent).join('/');
}

function isPrivateHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost' || bare.endsWith('.localhost') || bare.endsWith('.internal')) return true;
  if (isIP(bare) === 4) {
    const [a = 0, b = 0] = bare.split('.').map(Number);
    return (
      a === 10 ||
      a === 127 ||
      a === 0 ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 100 && b >= 64 && b <= 127)
    );
  }
  if (isIP(bare) === 6)
    return (
      bare === '::1' ||
      bare === '::' ||
      bare.startsWith('fc') ||
      bare.startsWith('fd') ||
      bare.startsWith('fe80')
    );
  return false;
}
