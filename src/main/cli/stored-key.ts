import { existsSync } from 'node:fs';
import { SettingsSchema } from '../../shared/contract/settings';
import { openDatabase } from '../core/db/connection';
import { SettingsRepository } from '../core/db/settings-repository';
import { dataPaths } from '../core/paths';

/**
 * The API key stored in the data directory's database (the one the Server view or `lodge key
 * --generate` set), or null when none is. Whoever can read the data directory can read the key, so
 * the CLI on this machine may use it; it never creates the database.
 */
export function storedApiKey(dataDir: string): string | null {
  const file = dataPaths(dataDir).database;
  if (!existsSync(file)) return null;
  try {
    const db = openDatabase(file);
    try {
      const parsed = SettingsSchema.shape.apiKey.safeParse(
        new SettingsRepository(db).readAll().get('apiKey'),
      );
      return parsed.success ? parsed.data : null;
    } finally {
      db.close();
    }
  } catch {
    // NOTE: an unreadable or foreign database holds no key the CLI can use; the server's own
    // answer (401 with what to do) then says what is wrong.
    return null;
  }
}
