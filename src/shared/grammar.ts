/**
 * Grammar-constrained decoding: what a generation request may ask its output to follow, and the
 * JSON Schema subset the runner's grammar engine (XGrammar) enforces. Shared so that the API layer
 * refuses an unsupported schema with a 400 before a runner is involved, and the runner checks the
 * same rules again before it compiles anything.
 */
import type { ToolDefinition } from './engine';

/** A JSON Schema as a client sends it: an object, or `true` (anything). */
export type JsonSchema = boolean | { readonly [keyword: string]: unknown };

/**
 * What the output must be. `json`: one JSON object, any keys. `json_schema`: one JSON value that
 * validates against `schema` (`strict` is the client's flag; the output follows the schema either
 * way, and never adds properties the schema does not name). `tool_call`: only tool calls in the
 * `<tool_call>{"name": …, "arguments": …}</tool_call>` syntax, the arguments valid for the named
 * function's `parameters`: any offered function (`required`) or one (`{ name }`); `parallel: false`
 * allows exactly one call.
 */
export type GrammarSpec =
  | { readonly kind: 'json' }
  | { readonly kind: 'json_schema'; readonly schema: JsonSchema; readonly strict: boolean }
  | {
      readonly kind: 'tool_call';
      readonly tools: readonly ToolDefinition[];
      readonly mode: 'required' | { readonly name: string };
      readonly parallel?: boolean;
    };

/** Why a schema cannot be enforced: the keyword, where it sits (a JSON pointer), and what to do. */
export interface SchemaProblem {
  readonly keyword: string;
  readonly path: string;
  readonly message: string;
}

/** Keywords that only describe (or identify) a schema: nothing to enforce. */
const ANNOTATIONS = new Set([
  'title',
  'description',
  'default',
  'examples',
  '$comment',
  '$schema',
  '$id',
  'deprecated',
  'readOnly',
  'writeOnly',
  'contentMediaType',
  'contentEncoding',
]);

/**
 * Validation keywords XGrammar 0.1.27 enforces (each checked against the grammar it builds). Some
 * more tightly than the schema asks: `const` objects in its own spacing, `patternProperties` keys
 * as whole matches, `prefixItems` all present. NOTE: `oneOf` is enforced as `anyOf`, so an output
 * is valid when the branches exclude each other (tagged unions, distinct types), which is how
 * schemas generated from types use it.
 */
const ENFORCED = new Set([
  'type',
  'enum',
  'const',
  'anyOf',
  'oneOf',
  'allOf',
  '$ref',
  '$defs',
  'definitions',
  'pattern',
  'minLength',
  'maxLength',
  'format',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'items',
  'prefixItems',
  'minItems',
  'maxItems',
  'properties',
  'required',
  'additionalProperties',
  'minProperties',
  'maxProperties',
  'patternProperties',
  'propertyNames',
]);

/**
 * Validation keywords XGrammar accepts but does not enforce, or cannot compile. Refused by name:
 * a grammar that ignored them would let the output break the schema. Other unknown keywords carry
 * no validation meaning in JSON Schema and are ignored, as validators ignore them.
 */
const UNENFORCED = new Set([
  'not',
  'if',
  'then',
  'else',
  'multipleOf',
  'uniqueItems',
  'contains',
  'minContains',
  'maxContains',
  'unevaluatedItems',
  'unevaluatedProperties',
  'dependentRequired',
  'dependentSchemas',
  'dependencies',
  '$dynamicRef',
  '$dynamicAnchor',
  '$recursiveRef',
  '$anchor',
]);

/** String formats XGrammar enforces; any other `format` would be ignored, so it is refused. */
export const ENFORCED_FORMATS = [
  'date',
  'time',
  'date-time',
  'duration',
  'email',
  'hostname',
  'ipv4',
  'ipv6',
  'uri',
  'uri-reference',
  'uri-template',
  'uuid',
  'json-pointer',
  'relative-json-pointer',
] as const;

/** What structured output enforces, for error messages. */
export const ENFORCED_SUMMARY =
  'Structured output enforces type, enum, const, anyOf, oneOf, allOf (one schema), local $ref, properties, required, additionalProperties, patternProperties, propertyNames, min/maxProperties, items, prefixItems, min/maxItems, pattern, min/maxLength, format, minimum/maximum, and exclusiveMinimum/exclusiveMaximum on integers.';

const TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null', 'array', 'object']);

/**
 * The first part of `schema` the grammar engine cannot enforce, or null when all of it can be.
 * Covers what would otherwise be silently ignored (`not`, `multipleOf`, `uniqueItems`, unknown
 * formats, …) and what would make the engine fail (lookahead or backreferences in a `pattern`,
 * a remote `$ref`, an unknown `type`).
 */
export function unsupportedSchemaPart(schema: unknown): SchemaProblem | null {
  return check(schema, '');
}

function problem(keyword: string, path: string, message: string): SchemaProblem {
  return { keyword, path: `${path}/${keyword}`, message };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function check(schema: unknown, path: string): SchemaProblem | null {
  if (schema === true) return null;
  if (schema === false)
    return {
      keyword: 'false',
      path: path || '/',
      message: 'false matches nothing, so no output can satisfy it',
    };
  if (!isObject(schema))
    return { keyword: 'schema', path: path || '/', message: 'a schema must be an object or true' };
  for (const [keyword, value] of Object.entries(schema)) {
    if (UNENFORCED.has(keyword)) {
      // The strict output never has properties or items the schema does not name.
      if ((keyword === 'unevaluatedProperties' || keyword === 'unevaluatedItems') && value === false)
        continue;
      if (keyword === 'uniqueItems' && value === false) continue;
      return problem(keyword, path, `"${keyword}" is not supported in structured output`);
    }
    if (!ENFORCED.has(keyword) && !ANNOTATIONS.has(keyword)) continue;
    // NOTE: XGrammar's number ranges let the excluded bound itself through (10 for
    // exclusiveMaximum 10); on integers it is exact.
    if ((keyword === 'exclusiveMinimum' || keyword === 'exclusiveMaximum') && !integerOnly(schema.type))
      return problem(
        keyword,
        path,
        `"${keyword}" is supported on integers only; for a number use "${keyword === 'exclusiveMinimum' ? 'minimum' : 'maximum'}"`,
      );
    const found = checkKeyword(keyword, value, path);
    if (found) return found;
  }
  return null;
}

function checkKeyword(keyword: string, value: unknown, path: string): SchemaProblem | null {
  const here = `${path}/${keyword}`;
  switch (keyword) {
    case 'type': {
      const types = Array.isArray(value) ? value : [value];
      const bad = types.find((type) => typeof type !== 'string' || !TYPES.has(type));
      return bad === undefined && types.length > 0
        ? null
        : problem(
            keyword,
            path,
            `"type" must be one of ${[...TYPES].join(', ')}, not ${JSON.stringify(bad)}`,
          );
    }
    case 'enum':
      return Array.isArray(value) && value.length > 0
        ? null
        : problem(keyword, path, '"enum" must be a non-empty array');
    case 'anyOf':
    case 'oneOf':
    case 'allOf': {
      if (!Array.isArray(value) || value.length === 0)
        return problem(keyword, path, `"${keyword}" must be a non-empty array of schemas`);
      if (keyword === 'allOf' && value.length > 1)
        return problem(
          keyword,
          path,
          '"allOf" with more than one schema is not supported; merge them into one',
        );
      return firstProblem(value.map((item, index) => [item, `${here}/${index}`]));
    }
    case '$ref':
      return typeof value === 'string' && (value === '#' || value.startsWith('#/'))
        ? null
        : problem(
            keyword,
            path,
            '"$ref" must point inside the schema ("#/$defs/…"); remote references are not fetched',
          );
    case '$defs':
    case 'definitions':
    case 'properties':
    case 'patternProperties':
      if (!isObject(value)) return problem(keyword, path, `"${keyword}" must be an object of schemas`);
      if (keyword === 'patternProperties') {
        const bad = Object.keys(value)
          .map((pattern) => patternProblem(pattern))
          .find((reason) => reason !== null);
        if (bad) return problem(keyword, path, bad);
      }
      return firstProblem(
        Object.entries(value).map(([name, item]) => [item, `${here}/${escapePointer(name)}`]),
      );
    case 'items':
    case 'additionalProperties':
    case 'propertyNames':
      return value === false && keyword !== 'propertyNames' ? null : check(value, here);
    case 'prefixItems':
      return Array.isArray(value)
        ? firstProblem(value.map((item, index) => [item, `${here}/${index}`]))
        : problem(keyword, path, '"prefixItems" must be an array of schemas');
    case 'pattern': {
      if (typeof value !== 'string') return problem(keyword, path, '"pattern" must be a string');
      const reason = patternProblem(value);
      return reason ? problem(keyword, path, reason) : null;
    }
    case 'format':
      return typeof value === 'string' && (ENFORCED_FORMATS as readonly string[]).includes(value)
        ? null
        : problem(
            keyword,
            path,
            `"format": ${JSON.stringify(value)} is not supported; use one of ${ENFORCED_FORMATS.join(', ')}, or a "pattern"`,
          );
    case 'required':
      return Array.isArray(value) && value.every((name) => typeof name === 'string')
        ? null
        : problem(keyword, path, '"required" must be an array of property names');
    case 'minLength':
    case 'maxLength':
    case 'minItems':
    case 'maxItems':
    case 'minProperties':
    case 'maxProperties':
      return Number.isInteger(value) && (value as number) >= 0
        ? null
        : problem(keyword, path, `"${keyword}" must be a non-negative integer`);
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return typeof value === 'number' && Number.isFinite(value)
        ? null
        : problem(keyword, path, `"${keyword}" must be a number`);
    default:
      return null;
  }
}

/** True for `"integer"`, or a list of types with integer and without number. */
function integerOnly(type: unknown): boolean {
  const types = Array.isArray(type) ? type : [type];
  return types.includes('integer') && !types.includes('number');
}

function firstProblem(entries: readonly (readonly [unknown, string])[]): SchemaProblem | null {
  for (const [schema, path] of entries) {
    const found = check(schema, path);
    if (found) return found;
  }
  return null;
}

/** Why XGrammar's regex converter cannot take `pattern`, or null. */
function patternProblem(pattern: string): string | null {
  try {
    new RegExp(pattern, 'u');
  } catch {
    return `the pattern ${JSON.stringify(pattern)} is not a valid regular expression`;
  }
  if (/\(\?<?[=!]/.test(pattern))
    return `lookaround in the pattern ${JSON.stringify(pattern)} is not supported`;
  if (/\\[1-9]|\\k</.test(pattern))
    return `backreferences in the pattern ${JSON.stringify(pattern)} are not supported`;
  return null;
}

function escapePointer(name: string): string {
  return name.replaceAll('~', '~0').replaceAll('/', '~1');
}
