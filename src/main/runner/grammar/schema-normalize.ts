// Fills in what JSON Schema leaves implicit and XGrammar's strict mode would read otherwise.
import type { JsonSchema } from '../../../shared/grammar';

/**
 * A copy of `schema` in which an array with neither `items` nor `prefixItems` gets `items: {}` (any
 * items, as JSON Schema means; XGrammar's strict mode would allow none), and every `required`
 * property missing from `properties` gets `{}` (strict mode would never write it, so the output
 * could not validate). Subschemas are normalized too.
 */
export function normalizeSchema(schema: JsonSchema): JsonSchema {
  return normalize(schema) as JsonSchema;
}

const SCHEMA_MAPS = new Set(['properties', '$defs', 'definitions', 'patternProperties']);
const SCHEMA_LISTS = new Set(['anyOf', 'oneOf', 'allOf', 'prefixItems']);
const SCHEMA_VALUES = new Set(['items', 'additionalProperties', 'propertyNames']);

function normalize(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [keyword, child] of Object.entries(value)) {
    if (SCHEMA_MAPS.has(keyword) && typeof child === 'object' && child !== null)
      out[keyword] = Object.fromEntries(Object.entries(child).map(([name, item]) => [name, normalize(item)]));
    else if (SCHEMA_LISTS.has(keyword) && Array.isArray(child)) out[keyword] = child.map(normalize);
    else if (SCHEMA_VALUES.has(keyword)) out[keyword] = normalize(child);
    else out[keyword] = child;
  }
  const types = Array.isArray(out.type) ? out.type : [out.type];
  if (types.includes('array') && out.items === undefined && out.prefixItems === undefined) out.items = {};
  if (Array.isArray(out.required) && out.required.length > 0) {
    const properties = {
      ...(typeof out.properties === 'object' && out.properties !== null ? out.properties : {}),
    };
    for (const name of out.required)
      if (typeof name === 'string' && !Object.hasOwn(properties, name))
        Object.assign(properties, { [name]: {} });
    out.properties = properties;
  }
  return out;
}
