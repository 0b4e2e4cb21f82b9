import { describe, expect, it } from 'vitest';
import { familyOf } from '../../../../src/main/core/api/families';

describe('familyOf', () => {
  it.each([
    ['/v1/chat/completions', 'openai'],
    ['/v1/models/org%2Fm', 'openai'],
    ['/chat/completions', 'openai'],
    ['/models', 'openai'],
    ['/v1/messages', 'anthropic'],
    ['/v1/messages/count_tokens', 'anthropic'],
    ['/v1/messages?beta=true', 'anthropic'],
    ['/v1/messagesx', 'openai'],
    ['/embeddings?x=1', 'openai'],
    ['/api/tags', 'ollama'],
    ['/api', 'ollama'],
    ['/v2/models/m/infer', 'kserve'],
    ['/v2', 'kserve'],
    ['/app/settings', 'app'],
    ['/health', 'app'],
    ['/', 'app'],
    ['/modelsx', 'app'],
    ['/apix', 'app'],
  ])('%s → %s', (url, family) => {
    expect(familyOf(url)).toBe(family);
  });
});
