import type { ApiFamily } from '../../../shared/contract/system';

// OpenAI clients are sometimes pointed at the bare origin, so these paths also answer without /v1.
const OPENAI_BARE = /^\/(models|chat\/completions|completions|embeddings)(\/|\?|$)/;
// Anthropic's Messages API shares OpenAI's /v1 prefix; its paths are told apart first.
const ANTHROPIC = /^\/v1\/messages(\/|\?|$)/;

/** Which API family a request path belongs to: it decides the error shape the client can parse. */
export function familyOf(url: string): ApiFamily {
  if (ANTHROPIC.test(url)) return 'anthropic';
  if (url.startsWith('/v1/') || url === '/v1' || OPENAI_BARE.test(url)) return 'openai';
  if (url.startsWith('/api/') || url === '/api') return 'ollama';
  if (url.startsWith('/v2/') || url === '/v2' || url.startsWith('/v2?')) return 'kserve';
  return 'app';
}
