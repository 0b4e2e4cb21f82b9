import { describe, expect, it } from 'vitest';
import { StopMatcher } from '../../../src/main/runner/text/stop-matcher';

const feed = (stops: string[], pieces: string[]) => {
  const matcher = new StopMatcher(stops);
  let out = '';
  for (const piece of pieces) {
    const { emit, stopped } = matcher.push(piece);
    out += emit;
    if (stopped) return { out, stopped: true };
  }
  return { out: out + matcher.flush(), stopped: false };
};

describe('StopMatcher', () => {
  it('stops at a stop string split across pieces and never emits any of it', () => {
    expect(feed(['END'], ['the E', 'N', 'D and more'])).toEqual({ out: 'the ', stopped: true });
  });
  it('releases held text that turned out not to be a stop string', () => {
    expect(feed(['END'], ['the E', 'Nx', ' done'])).toEqual({ out: 'the ENx done', stopped: false });
    expect(feed(['END'], ['the EN'])).toEqual({ out: 'the EN', stopped: false });
  });
  it('picks the earliest of several stop strings', () => {
    expect(feed(['\n\n', 'User:'], ['Hi there User: hello\n\n'])).toEqual({
      out: 'Hi there ',
      stopped: true,
    });
  });
  it('names the stop string it stopped at: the earliest, not the first listed', () => {
    const matcher = new StopMatcher(['User:', '\n\n']);
    expect(matcher.matched).toBeNull();
    expect(matcher.push('Hi there\n')).toEqual({ emit: 'Hi there', stopped: false });
    expect(matcher.matched).toBeNull();
    expect(matcher.push('\nUser: hello')).toEqual({ emit: '', stopped: true });
    expect(matcher.matched).toBe('\n\n');
  });
  it('passes everything through without stop strings', () => {
    expect(feed([], ['a', 'b'])).toEqual({ out: 'ab', stopped: false });
  });
});
