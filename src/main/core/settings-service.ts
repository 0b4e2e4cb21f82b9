import type { Settings, SettingsPatch, SettingsView } from '../../shared/contract/settings';
import { ConfigError, DEFAULT_SETTINGS, resolveConfig, type Flags, type ResolvedConfig } from './config';
import type { SettingsRepository } from './db/settings-repository';
import { LodgeError } from './errors';

/** Called after the settings change, with the new values. */
export type SettingsListener = (settings: Settings) => void;

/**
 * Who asks for a change: over HTTP, whether the request comes from Lodge's own window (as the
 * server's security policy decides it); `in-process` is the app itself (the desktop shell, tests),
 * which may change anything.
 */
export type SettingsCaller = { readonly fromWindow: boolean } | 'in-process';

/** The origin part of a hub endpoint URL (`https://huggingface.co`), the unit a token is bound to. */
function originOf(endpoint: string): string {
  return new URL(endpoint).origin;
}

/**
 * The settings key that keeps, next to a stored token, the hub origin it was given for. It is not
 * a setting (the config layer ignores it); it survives restarts so that a token stays bound to its
 * hub whatever endpoint is in force when Lodge starts.
 */
const TOKEN_ORIGIN_KEY = 'hubTokenOrigin';

/**
 * Owns the effective settings of a running core. Reads go to memory; a change is validated against
 * the environment and flags it would sit under, persisted, and then announced, so changes to
 * origins, allowed hosts, the API key and the log level apply without a restart.
 */
export class SettingsService {
  #resolved: ResolvedConfig;
  readonly #listeners = new Set<SettingsListener>();
  readonly #boot: Pick<Settings, 'host' | 'port'>;
  /** The hub origin the token in force was given for; the token goes to that origin only. */
  #tokenOrigin: string;

  constructor(
    private readonly repository: SettingsRepository,
    private readonly env: NodeJS.ProcessEnv,
    private readonly flags: Flags,
    initial: ResolvedConfig,
  ) {
    this.#resolved = initial;
    this.#boot = { host: initial.values.host, port: initial.values.port };
    this.#tokenOrigin = this.#boundOrigin(initial);
  }

  /**
   * The origin the token in force was given for: for `HF_TOKEN`, the hub of `HF_ENDPOINT` or the
   * default hub (never an endpoint moved here); for a stored token, the origin saved with it.
   */
  #boundOrigin(resolved: ResolvedConfig): string {
    const forEnv = originOf(
      resolved.sources.hubEndpoint === 'env' ? resolved.values.hubEndpoint : DEFAULT_SETTINGS.hubEndpoint,
    );
    if (resolved.sources.hubToken !== 'settings') return forEnv;
    const saved = this.repository.readAll().get(TOKEN_ORIGIN_KEY);
    if (typeof saved !== 'string') return forEnv;
    try {
      return originOf(saved);
    } catch {
      return forEnv;
    }
  }

  /**
   * The settings in force now. The hub token reads as unset while the hub endpoint is not the one it
   * was given for (an `HF_TOKEN` from the environment, after the endpoint was changed here).
   */
  get values(): Settings {
    const values = this.#resolved.values;
    if (values.hubToken !== null && originOf(values.hubEndpoint) !== this.#tokenOrigin)
      return { ...values, hubToken: null };
    return values;
  }

  /** The settings as `GET /app/settings` shows them: values with sources, the key itself withheld. */
  view(): SettingsView {
    const { apiKey, hubToken, ...rest } = this.values;
    const restartRequired = (['host', 'port'] as const).filter(
      (key) => this.#resolved.values[key] !== this.#boot[key],
    );
    return {
      values: { ...rest, apiKeySet: apiKey !== null, hubTokenSet: hubToken !== null },
      sources: { ...this.#resolved.sources },
      restartRequired,
    };
  }

  /**
   * Applies a partial change; `null` clears a stored value. Refuses a change that could not start.
   * Moving the hub endpoint to another origin forgets the stored hub token (unless the same change
   * gives a new one), so a token is never sent to a host it was not given for; and without an API
   * key, only Lodge's own window may move it, since it decides where Lodge connects and where the
   * token would go.
   */
  update(patch: SettingsPatch, caller: SettingsCaller = 'in-process'): SettingsView {
    const current = this.#resolved.values;
    const changes = new Map(Object.entries(patch));
    let next = this.#resolve(changes);
    const movesHub = originOf(next.values.hubEndpoint) !== originOf(current.hubEndpoint);
    if (movesHub && current.apiKey === null && caller !== 'in-process' && !caller.fromWindow) {
      throw new LodgeError(
        'forbidden',
        'Changing the hub address decides where Lodge connects and where your Hugging Face token goes: do it from the Lodge window, or set an API key and send it.',
        { param: 'hubEndpoint' },
      );
    }
    if (movesHub && patch.hubToken === undefined) {
      changes.set('hubToken', null);
      next = this.#resolve(changes);
    }
    for (const [key, value] of changes) {
      if (value !== undefined) this.repository.write(key, value === null ? undefined : value);
    }
    const token = changes.get('hubToken');
    if (typeof token === 'string') this.repository.write(TOKEN_ORIGIN_KEY, originOf(next.values.hubEndpoint));
    else if (token === null) this.repository.write(TOKEN_ORIGIN_KEY, undefined);
    this.#tokenOrigin = this.#boundOrigin(next);
    this.#resolved = next;
    const values = this.values;
    for (const listener of this.#listeners) listener(values);
    return this.view();
  }

  /** The settings the stored values with `changes` applied would give; a bad combination is a 400. */
  #resolve(changes: ReadonlyMap<string, unknown>): ResolvedConfig {
    const stored = this.repository.readAll();
    for (const [key, value] of changes) {
      if (value === null) stored.delete(key);
      else if (value !== undefined) stored.set(key, value);
    }
    try {
      return resolveConfig(stored, this.env, this.flags);
    } catch (error) {
      if (error instanceof ConfigError) throw new LodgeError('invalid_request', error.message);
      throw error;
    }
  }

  /** Subscribes to changes; returns the unsubscribe function. */
  onChange(listener: SettingsListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
