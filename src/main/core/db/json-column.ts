import { z } from 'zod';

/** The version of the JSON a column holds; a value is stored as `{ version, value }`. */
export const JSON_COLUMN_VERSION = 1;

/** A JSON column that does not read back as its schema says: hand-edited, or from a newer Lodge. */
export class JsonColumnError extends Error {
  override readonly name = 'JsonColumnError';
}

const Envelope = z.object({ version: z.number().int(), value: z.unknown() }).strict();

/**
 * A JSON column's value, checked against its schema. Values written before columns had a version
 * (version 0: the bare value) read as they are; a version this code does not know is refused.
 */
export function readJsonColumn<T>(name: string, schema: z.ZodType<T>, text: string): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new JsonColumnError(`its ${name} column is not JSON`);
  }
  const envelope = Envelope.safeParse(parsed);
  if (envelope.success && envelope.data.version !== JSON_COLUMN_VERSION)
    throw new JsonColumnError(
      `its ${name} column has version ${envelope.data.version}, unknown to this Lodge`,
    );
  const checked = schema.safeParse(envelope.success ? envelope.data.value : parsed);
  if (!checked.success)
    throw new JsonColumnError(
      `its ${name} column does not hold what it should (${checked.error.issues[0]?.message ?? 'invalid'})`,
    );
  return checked.data;
}

/** `value` as a JSON column stores it, with the current version. */
export function writeJsonColumn(value: unknown): string {
  return JSON.stringify({ version: JSON_COLUMN_VERSION, value });
}
