import { LodgeError } from '../errors';

/** What a remote engine's name may be: the prefix of its models' names (`name/model`). */
const ENGINE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/;

/** A checked engine name, or a clear `invalid_request`. */
export function checkEngineName(name: string): string {
  if (!ENGINE_NAME.test(name)) {
    throw new LodgeError(
      'invalid_request',
      'An engine name is 1 to 40 letters, digits, dots, dashes or underscores, starting with a letter or digit.',
      { param: 'name' },
    );
  }
  return name;
}

/**
 * A base URL as Lodge stores it: `http:` or `https:`, no credentials, query or fragment, no
 * trailing slash, and `/v1` added when the user gave only the origin (every OpenAI-compatible
 * server Lodge talks to — another Lodge, Ollama, LM Studio, vLLM, llama-server — serves there).
 * NOTE: loopback and LAN addresses are allowed: the user added this endpoint by hand, and Lodge
 * connects to nothing else (redirects leave the origin only when refused).
 */
export function normalizeBaseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new LodgeError('invalid_request', `'${text.slice(0, 200)}' is not a URL.`, { param: 'baseUrl' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new LodgeError('invalid_request', 'The base URL must start with http:// or https://.', {
      param: 'baseUrl',
    });
  if (url.username !== '' || url.password !== '')
    throw new LodgeError('invalid_request', 'Put the key in the API key field, not in the URL.', {
      param: 'baseUrl',
    });
  if (url.search !== '' || url.hash !== '')
    throw new LodgeError('invalid_request', 'The base URL takes no query or fragment.', { param: 'baseUrl' });
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.origin}${path === '' ? '/v1' : path}`;
}

/** An API key as it may be stored: printable, without spaces, at most 4096 characters. */
export function checkApiKey(key: string): string {
  const trimmed = key.trim();
  if (trimmed.length === 0 || trimmed.length > 4096 || !/^[\x21-\x7e]+$/.test(trimmed))
    throw new LodgeError('invalid_request', 'An API key is 1 to 4096 printable characters without spaces.', {
      param: 'apiKey',
    });
  return trimmed;
}
