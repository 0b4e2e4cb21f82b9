import type { ExecutionProvider, QuantizeMode } from '../../../shared/engine';
import type { LogLevel, SettingKey, SettingsPatch, SettingsView } from '../../../shared/contract/settings';

/** What the Settings form holds: text areas as text, number fields as numbers or null when empty. */
export interface SettingsFormValues {
  origins: string;
  allowedHosts: string;
  logLevel: LogLevel;
  keepAliveSeconds: number | null;
  maxLoadedModels: number | null;
  parallel: number | null;
  quantize: QuantizeMode;
  memoryBudgetMb: number | null;
  threads: number | null;
  providers: readonly ExecutionProvider[];
  hubEndpoint: string;
  /** A new token; empty keeps the one set. */
  hubToken: string;
  allowRemoteImages: boolean;
}

/** The form's fields filled from what the server uses. */
export function formValuesOf(values: SettingsView['values']): SettingsFormValues {
  return {
    origins: values.origins.join('\n'),
    allowedHosts: values.allowedHosts.join('\n'),
    logLevel: values.logLevel,
    keepAliveSeconds: values.keepAliveSeconds,
    maxLoadedModels: values.maxLoadedModels,
    parallel: values.parallel,
    quantize: values.quantize,
    memoryBudgetMb: values.memoryBudgetMb,
    threads: values.threads,
    providers: [...values.providers],
    hubEndpoint: values.hubEndpoint,
    hubToken: '',
    allowRemoteImages: values.allowRemoteImages,
  };
}

/** The non-empty trimmed lines of a text area. */
export function linesOf(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}

const same = (a: readonly unknown[], b: readonly unknown[]) =>
  a.length === b.length && a.every((entry, index) => entry === b[index]);

/**
 * The patch that stores only what the user changed from what the server uses, so that a default
 * the user never touched stays a default (and follows the next release's). Settings set by an
 * environment variable or a flag (`locked`) are never sent. An emptied required number keeps its
 * value; an emptied memory budget means none.
 */
export function changedSettings(
  values: SettingsView['values'],
  form: SettingsFormValues,
  locked: (key: SettingKey) => boolean,
): SettingsPatch {
  const patch: SettingsPatch = {};
  const set = <K extends keyof SettingsPatch & SettingKey>(
    key: K,
    value: SettingsPatch[K],
    changed: boolean,
  ) => {
    if (changed && !locked(key)) patch[key] = value;
  };
  const origins = linesOf(form.origins);
  set('origins', origins, !same(origins, values.origins));
  const hosts = linesOf(form.allowedHosts);
  set('allowedHosts', hosts, !same(hosts, values.allowedHosts));
  set('logLevel', form.logLevel, form.logLevel !== values.logLevel);
  set('quantize', form.quantize, form.quantize !== values.quantize);
  const numbers = ['keepAliveSeconds', 'maxLoadedModels', 'parallel', 'threads'] as const;
  for (const key of numbers) {
    const value = form[key];
    if (value !== null) set(key, value, value !== values[key]);
  }
  set('memoryBudgetMb', form.memoryBudgetMb, form.memoryBudgetMb !== values.memoryBudgetMb);
  const providers: ExecutionProvider[] = form.providers.includes('cpu')
    ? [...form.providers]
    : [...form.providers, 'cpu'];
  set('providers', providers, !same(providers, values.providers));
  set('hubEndpoint', form.hubEndpoint.trim(), form.hubEndpoint.trim() !== values.hubEndpoint);
  set('allowRemoteImages', form.allowRemoteImages, form.allowRemoteImages !== values.allowRemoteImages);
  const token = form.hubToken.trim();
  set('hubToken', token, token !== '');
  return patch;
}
