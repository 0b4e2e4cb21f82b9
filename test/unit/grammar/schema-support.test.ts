import { describe, expect, it } from 'vitest';
import { unsupportedSchemaPart } from '../../../src/shared/grammar';

describe('unsupportedSchemaPart', () => {
  it('accepts the keywords the grammar engine enforces, annotations, and unknown keywords', () => {
    const schema = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      title: 'Person',
      type: 'object',
      'x-vendor': { not: 'a schema' },
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 20, pattern: '^[A-Z][a-z]+$' },
        email: { type: 'string', format: 'email' },
        age: { type: ['integer', 'null'], minimum: 0, exclusiveMaximum: 150 },
        kind: { enum: ['a', 'b'] },
        tags: { type: 'array', items: { $ref: '#/$defs/tag' }, minItems: 1, maxItems: 4 },
        pair: { type: 'array', prefixItems: [{ type: 'number' }, { const: 'x' }], items: false },
        either: { anyOf: [{ type: 'string' }, { type: 'boolean' }] },
        one: { oneOf: [{ type: 'string' }, { type: 'integer' }] },
      },
      required: ['name'],
      additionalProperties: false,
      unevaluatedProperties: false,
      $defs: { tag: { type: 'string', description: 'a tag' } },
    };
    expect(unsupportedSchemaPart(schema)).toBeNull();
    expect(unsupportedSchemaPart(true)).toBeNull();
  });

  it.each([
    [{ type: 'number', multipleOf: 3 }, 'multipleOf', '/multipleOf'],
    [{ type: 'number', exclusiveMinimum: 0 }, 'exclusiveMinimum', '/exclusiveMinimum'],
    [{ type: 'number', exclusiveMaximum: 10 }, 'exclusiveMaximum', '/exclusiveMaximum'],
    [{ type: 'array', items: { type: 'integer' }, uniqueItems: true }, 'uniqueItems', '/uniqueItems'],
    [{ type: 'object', properties: { a: { not: { type: 'string' } } } }, 'not', '/properties/a/not'],
    [{ if: { type: 'string' }, then: { minLength: 1 } }, 'if', '/if'],
    [{ type: 'array', contains: { type: 'integer' } }, 'contains', '/contains'],
    [{ type: 'object', dependentRequired: { a: ['b'] } }, 'dependentRequired', '/dependentRequired'],
    [{ allOf: [{ type: 'string' }, { minLength: 2 }] }, 'allOf', '/allOf'],
    [{ $ref: 'https://example.com/schema.json' }, '$ref', '/$ref'],
    [{ type: 'string', format: 'iri' }, 'format', '/format'],
    [{ type: 'date' }, 'type', '/type'],
    [{ type: 'string', pattern: '(?=a)b' }, 'pattern', '/pattern'],
    [{ type: 'string', pattern: '(a)\\1' }, 'pattern', '/pattern'],
    [{ type: 'string', pattern: '([a-z' }, 'pattern', '/pattern'],
    [{ $defs: { a: { type: 'integer', multipleOf: 2 } } }, 'multipleOf', '/$defs/a/multipleOf'],
    [
      { anyOf: [{ type: 'string' }, { type: 'array', uniqueItems: true }] },
      'uniqueItems',
      '/anyOf/1/uniqueItems',
    ],
  ])('refuses %j, naming %s at %s', (schema, keyword, path) => {
    const found = unsupportedSchemaPart(schema);
    expect(found).toMatchObject({ keyword, path });
    expect(found?.message).toContain(keyword === 'pattern' ? 'pattern' : keyword);
  });

  it('refuses false and non-schemas', () => {
    expect(unsupportedSchemaPart(false)?.keyword).toBe('false');
    expect(unsupportedSchemaPart('string')?.keyword).toBe('schema');
    expect(unsupportedSchemaPart({ properties: { a: 3 } })?.path).toBe('/properties/a');
  });
});
