import type { Settings, SettingsPatch, SettingsView } from '../../shared/contract/settings';
import { ConfigError, resolveConfig, type Flags, type ResolvedConfig } from './config';
import type { SettingsRepository } from './db/settings-repository';
import { LodgeError } from './errors';

/** Called after the settings change, with the new values. */
export type SettingsListener = (settings: Settings) => void;

/**
 * Owns the effective settings of a running core. Reads go to memory; a change is validated against
 * the environment and flags it would sit under, persisted, and then announced, so changes to
 * origins, allowed hosts, the API key and the log level apply without a restart.
 */
export class SettingsService {
  #resolved: ResolvedConfig;
  readonly #listeners = new Set<SettingsListener>();
  readonly #boot: Pick<Settings, 'host' | 'port'>;

  constructor(
    private readonly repository: SettingsRepository,
    private readonly env: NodeJS.ProcessEnv,
    private readonly flags: Flags,
    initial: ResolvedConfig,
  ) {
    this.#resolved = initial;
    this.#boot = { host: initial.values.host, port: initial.values.port };
  }

  /** The settings in force now. */
  get values(): Settings {
    return this.#resolved.values;
  }

  /** The settings as `GET /app/settings` shows them: values with sources, the key itself withheld. */
  view(): SettingsView {
    const { apiKey, hubToken, ...rest } = this.#resolved.values;
    const restartRequired = (['host', 'port'] as const).filter(
      (key) => this.#resolved.values[key] !== this.#boot[key],
    );
    return {
      values: { ...rest, apiKeySet: apiKey !== null, hubTokenSet: hubToken !== null },
      sources: { ...this.#resolved.sources },
      restartRequired,
    };
  }

  /** Applies a partial change; `null` clears a stored value. Refuses a change that could not start. */
  update(patch: SettingsPatch): SettingsView {
    const stored = this.repository.readAll();
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) stored.delete(key);
      else if (value !== undefined) stored.set(key, value);
    }
    let next: ResolvedConfig;
    try {
      next = resolveConfig(stored, this.env, this.flags);
    } catch (error) {
      if (error instanceof ConfigError) throw new LodgeError('invalid_request', error.message);
      throw error;
    }
    for (const [key, value] of Object.entries(patch)) {
      if (value !== undefined) this.repository.write(key, value === null ? undefined : value);
    }
    this.#resolved = next;
    for (const listener of this.#listeners) listener(next.values);
    return this.view();
  }

  /** Subscribes to changes; returns the unsubscribe function. */
  onChange(listener: SettingsListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
