import { describe, expect, it } from 'vitest';
import { ago, fromNow, table } from '../../../src/main/cli/format';

const NOW = Date.parse('2026-01-01T12:00:00.000Z');
const at = (secondsFromNow: number) => new Date(NOW + secondsFromNow * 1000).toISOString();

describe('relative times', () => {
  it('says "just now" for a time a moment ago or a hair in the future, never "in 0 seconds"', () => {
    expect(ago(at(0), NOW)).toBe('just now');
    expect(ago(at(0.4), NOW)).toBe('just now');
    expect(ago(at(3), NOW)).toBe('just now');
    expect(ago(at(-2), NOW)).toBe('just now');
  });

  it('counts past times in the largest unit that fits', () => {
    expect(ago(at(-42), NOW)).toBe('42 seconds ago');
    expect(ago(at(-60), NOW)).toBe('1 minute ago');
    expect(ago(at(-2 * 3600), NOW)).toBe('2 hours ago');
    expect(ago(at(-3 * 86400), NOW)).toBe('3 days ago');
    expect(ago(null, NOW)).toBe('never');
  });

  it('says "now" for a due time, and counts the rest ahead', () => {
    expect(fromNow(at(-10), NOW)).toBe('now');
    expect(fromNow(at(1), NOW)).toBe('now');
    expect(fromNow(at(240), NOW)).toBe('in 4 minutes');
  });
});

describe('table', () => {
  it('starts every cell of a column at one place, with the gap and indent asked for', () => {
    const text = table(
      ['A', 'LONG HEADER'],
      [
        ['wide cell', 'x'],
        ['b', 'y'],
      ],
      { gap: 2, indent: 1 },
    );
    expect(text.split('\n')).toEqual([' A          LONG HEADER', ' wide cell  x', ' b          y']);
  });
});
