import { z } from 'zod';

/** How deep and how large one free-form JSON value may be. */
export interface JsonBounds {
  /** Nesting levels of arrays and objects; a scalar is 0 deep, `{}` and `[]` are 1. */
  readonly maxDepth: number;
  /** Size of the value written as JSON, in UTF-8 bytes. */
  readonly maxBytes: number;
}

/**
 * A request body as a whole may nest this deep. Anything deeper is refused before it is parsed into
 * objects: the runner channel and the serializers recurse, and a stack overflow there is a crash.
 */
export const MAX_BODY_DEPTH = 1000;

/** A JSON Schema a client sends (tool parameters, response formats): generous for any real schema. */
export const SCHEMA_BOUNDS: JsonBounds = { maxDepth: 64, maxBytes: 256 * 1024 };

/** Tool-call arguments a client sends back in a conversation's history. */
export const ARGUMENTS_BOUNDS: JsonBounds = { maxDepth: 64, maxBytes: 1024 * 1024 };

/** Free-form `parameters` maps (KServe): a few scalars in practice. */
export const PARAMETERS_BOUNDS: JsonBounds = { maxDepth: 16, maxBytes: 64 * 1024 };

/**
 * How deeply `value` nests, counting no further than `limit + 1`. Iterative, so a hostile value
 * cannot overflow the stack while being measured.
 */
export function jsonDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const pending: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (pending.length > 0) {
    const next = pending.pop();
    if (next === undefined || typeof next.value !== 'object' || next.value === null) continue;
    const depth = next.depth + 1;
    if (depth > deepest) deepest = depth;
    if (deepest > limit) return deepest;
    for (const child of Object.values(next.value)) {
      if (typeof child === 'object' && child !== null) pending.push({ value: child, depth });
    }
  }
  return deepest;
}

/**
 * Where the JSON text `text` first nests deeper than `limit`, as the path of keys and indexes to
 * the container that does; null when it never does. Scans the text without parsing it (brackets in
 * strings do not count), so even a body nested 100,000 deep is measured without recursion.
 * Invalid JSON is left for the parser to refuse.
 */
export function jsonTextOverflow(text: string, limit: number): (string | number)[] | null {
  const isObject: boolean[] = [];
  const path: (string | number)[] = [];
  let expectKey = false;
  let keyStart = -1;
  for (let index = 0; index < text.length; index++) {
    const char = text.charCodeAt(index);
    if (keyStart === -2 || keyStart >= 0) {
      // Inside a string: -2 for a value, or the start offset of an object key.
      if (char === 0x5c)
        index++; // backslash: skip the escaped character
      else if (char === 0x22) {
        if (keyStart >= 0) path[path.length - 1] = text.slice(keyStart, Math.min(index, keyStart + 64));
        keyStart = -1;
      }
    } else if (char === 0x22) {
      keyStart = expectKey ? index + 1 : -2;
      expectKey = false;
    } else if (char === 0x7b || char === 0x5b) {
      if (isObject.length >= limit) return path;
      isObject.push(char === 0x7b);
      path.push(char === 0x7b ? '' : 0);
      expectKey = char === 0x7b;
    } else if (char === 0x7d || char === 0x5d) {
      isObject.pop();
      path.pop();
      expectKey = false;
    } else if (char === 0x2c) {
      const top = path.length - 1;
      if (isObject[top] === true) expectKey = true;
      else if (top >= 0) path[top] = Number(path[top]) + 1;
    }
  }
  return null;
}

/** A path from {@link jsonTextOverflow} for a message: its first segments, dotted. */
export function describeJsonPath(path: readonly (string | number)[], root: string): string {
  const shown = [root, ...path.slice(0, 8)].join('.');
  return path.length > 8 ? `${shown}…` : shown;
}

/** Why `value` is out of `bounds`, or null when it is within them. */
export function jsonBoundsProblem(value: unknown, bounds: JsonBounds): string | null {
  if (jsonDepth(value, bounds.maxDepth) > bounds.maxDepth)
    return `nested deeper than ${bounds.maxDepth} levels`;
  // Within the depth bound, serializing cannot overflow the stack.
  const text = JSON.stringify(value);
  if (text !== undefined && Buffer.byteLength(text, 'utf8') > bounds.maxBytes)
    return `larger than ${formatSize(bounds.maxBytes)} as JSON`;
  return null;
}

/**
 * `schema` (any JSON by default) limited in nesting depth and size. Every free-form JSON field of
 * every API goes through this, so no request carries unbounded client JSON to a runner.
 */
export function boundedJson(bounds: JsonBounds): z.ZodUnknown;
/** `schema` limited in nesting depth and size (see above). */
export function boundedJson<T extends z.ZodType>(bounds: JsonBounds, schema: T): T;
export function boundedJson(bounds: JsonBounds, schema: z.ZodType = z.unknown()): z.ZodType {
  return schema.superRefine((value, context) => {
    const problem = jsonBoundsProblem(value, bounds);
    if (problem !== null) context.addIssue({ code: 'custom', message: `Must not be ${problem}.` });
  });
}

/**
 * A string that may hold JSON (OpenAI's tool-call `arguments`): at most `maxBytes`, and when it
 * parses, within `maxDepth`.
 */
export function boundedJsonString(bounds: JsonBounds): z.ZodString {
  return z.string().superRefine((text, context) => {
    if (Buffer.byteLength(text, 'utf8') > bounds.maxBytes) {
      context.addIssue({
        code: 'custom',
        message: `Must not be larger than ${formatSize(bounds.maxBytes)}.`,
      });
    } else if (jsonTextOverflow(text, bounds.maxDepth) !== null) {
      context.addIssue({
        code: 'custom',
        message: `Must not be nested deeper than ${bounds.maxDepth} levels.`,
      });
    }
  });
}

function formatSize(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / (1024 * 1024)} MiB` : `${bytes / 1024} KiB`;
}
