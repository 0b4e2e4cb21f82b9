// With the allowRemoteImages setting on, the http(s) image URLs of a chat request (OpenAI image_url
// parts, Responses input_image, Anthropic url sources) are fetched before the request is read and
// put back as data URLs, so each family reads images one way. The fetch goes through the hub's
// guarded fetch: public addresses only (the configured hub's origin aside), redirects checked
// hop by hop, a size bound and a deadline. With the setting off, nothing is fetched and the
// families refuse the URLs with a message naming the setting.
import type { FastifyInstance } from 'fastify';
import { guardedFetch, PrivateAddressError, type HubFetch } from '../hub/guarded-fetch';
import { LodgeError } from '../errors';
import type { SettingsService } from '../settings-service';
import { imageFormat, MAX_IMAGE_BYTES, MAX_IMAGES } from './image-input';
import { clientGone } from './streaming';

const MAX_REDIRECTS = 3;
const FETCH_TIMEOUT_MS = 20_000;

type Json = Record<string, unknown>;
/** One URL found in a body: where it is (for errors), and how to put the data URL back. */
interface Found {
  readonly url: string;
  readonly param: string;
  readonly put: (dataUrl: string, format: string, base64: string) => void;
}

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const remote = (url: unknown): url is string => typeof url === 'string' && /^https?:\/\//i.test(url);

function each(list: unknown, visit: (item: Json, index: number) => void): void {
  if (Array.isArray(list)) list.forEach((item, index) => isObject(item) && visit(item, index));
}

/**
 * The remote image URLs of a request body, by the route it was sent to, its `/v1` prefix left
 * off: OpenAI's routes are served at the bare origin too.
 */
function remoteImages(route: string, body: Json): Found[] {
  const found: Found[] = [];
  const path = route.replace(/^\/v1(?=\/)/, '');
  if (path === '/chat/completions') {
    each(body.messages, (message, m) =>
      each(message.content, (part, p) => {
        if (part.type !== 'image_url') return;
        const param = `messages[${m}].content[${p}].image_url`;
        const holder = isObject(part.image_url) ? part.image_url : null;
        const url = holder ? holder.url : part.image_url;
        if (!remote(url)) return;
        found.push({ url, param, put: (data) => (holder ? (holder.url = data) : (part.image_url = data)) });
      }),
    );
  } else if (path === '/responses') {
    each(body.input, (item, i) =>
      each(item.content, (part, p) => {
        if (part.type === 'input_image' && remote(part.image_url))
          found.push({
            url: part.image_url,
            param: `input[${i}].content[${p}].image_url`,
            put: (data) => (part.image_url = data),
          });
      }),
    );
  } else if (path === '/messages') {
    each(body.messages, (message, m) =>
      each(message.content, (block, b) => {
        const source = block.source;
        if (block.type === 'image' && isObject(source) && source.type === 'url' && remote(source.url))
          found.push({
            url: source.url,
            param: `messages.${m}.content.${b}.source.url`,
            put: (_data, format, base64) =>
              (block.source = { type: 'base64', media_type: `image/${format}`, data: base64 }),
          });
      }),
    );
  }
  return found;
}

async function bodyBytes(response: Response, param: string): Promise<Uint8Array> {
  const tooLarge = () =>
    new LodgeError(
      'invalid_request',
      `${param}: the image is larger than ${MAX_IMAGE_BYTES / 1024 / 1024} MiB.`,
      {
        param,
      },
    );
  if (Number(response.headers.get('content-length') ?? 0) > MAX_IMAGE_BYTES) {
    await response.body?.cancel();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body?.getReader();
  if (!reader) return new Uint8Array(0);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_IMAGE_BYTES) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/**
 * Fetches one image URL, following checked redirects; answers its format and bytes. `gone` fires
 * when the client disconnects: the fetch stops then rather than at its deadline.
 */
async function fetchImage(
  fetch: HubFetch,
  url: string,
  param: string,
  gone: AbortSignal,
): Promise<{ format: string; bytes: Uint8Array }> {
  const fail = (why: string) =>
    new LodgeError('invalid_request', `${param}: the image at ${url} could not be fetched: ${why}.`, {
      param,
    });
  let target = new URL(url);
  const deadline = AbortSignal.timeout(FETCH_TIMEOUT_MS);
  const signal = AbortSignal.any([deadline, gone]);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    if (target.protocol !== 'http:' && target.protocol !== 'https:')
      throw fail(`it redirects to ${target.protocol} URLs`);
    let response: Response;
    try {
      response = await fetch(target, { headers: { accept: 'image/*', 'user-agent': 'Lodge' }, signal });
    } catch (error) {
      if (error instanceof PrivateAddressError)
        throw fail(
          `${error.host} is a private, loopback or internal address, and Lodge fetches images from public addresses only`,
        );
      throw fail(
        deadline.aborted
          ? `no answer within ${FETCH_TIMEOUT_MS / 1000} s`
          : error instanceof Error
            ? error.message
            : String(error),
      );
    }
    const location = response.headers.get('location');
    if ([301, 302, 303, 307, 308].includes(response.status) && location !== null) {
      await response.body?.cancel();
      // The host's Location header is its own text: one that is no URL is its fault, told as such.
      const next = URL.canParse(location, target.href) ? new URL(location, target) : null;
      if (next === null) throw fail('it redirects to a Location that is not a URL');
      target = next;
      continue;
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw fail(`the server answered ${response.status}`);
    }
    const bytes = await bodyBytes(response, param);
    const format = imageFormat(bytes);
    if (format === null) throw fail('it is not a png, jpeg, webp or gif image');
    return { format, bytes };
  }
  throw fail(`it redirects more than ${MAX_REDIRECTS} times`);
}

/**
 * Registers the hook; `trusted` is the configured hub's origin (which may be a mirror on the
 * local network), the one non-public place an image may come from. `fetch` is injectable for tests.
 */
export function registerRemoteImages(
  app: FastifyInstance,
  settings: SettingsService,
  fetch: HubFetch = guardedFetch((url) => url.origin === new URL(settings.values.hubEndpoint).origin),
): void {
  app.addHook('preValidation', async (request, reply) => {
    if (!settings.values.allowRemoteImages || request.method !== 'POST' || !isObject(request.body)) return;
    const found = remoteImages(request.routeOptions.url ?? '', request.body);
    if (found.length > MAX_IMAGES)
      throw new LodgeError(
        'invalid_request',
        `The request carries ${found.length} image URLs; Lodge takes at most ${MAX_IMAGES}.`,
      );
    const gone = found.length > 0 ? clientGone(request, reply) : AbortSignal.any([]);
    for (const image of found) {
      const { format, bytes } = await fetchImage(fetch, image.url, image.param, gone);
      const base64 = Buffer.from(bytes).toString('base64');
      image.put(`data:image/${format};base64,${base64}`, format, base64);
    }
  });
}
