// Foundry Local's chat format: `inference_model.json`'s PromptTemplate, one text per role with a
// `{Content}` placeholder, turned into the Jinja chat template the rest of Lodge renders.

/** `inference_model.json`'s PromptTemplate: texts by role, each with a `{Content}` placeholder. */
export interface PromptTemplate {
  readonly system?: string;
  readonly user?: string;
  readonly assistant?: string;
  /** A single-turn prompt (user text, then the assistant's opening). */
  readonly prompt?: string;
}

const PLACEHOLDER = '{Content}';

/** Reads a PromptTemplate from parsed JSON; null when it is not one (no role text with `{Content}`). */
export function readPromptTemplate(value: unknown): PromptTemplate | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const template: Record<string, string> = {};
  for (const key of ['system', 'user', 'assistant', 'prompt'] as const) {
    const text = (value as Record<string, unknown>)[key];
    if (typeof text === 'string' && text.includes(PLACEHOLDER)) template[key] = text;
  }
  return template.user !== undefined || template.prompt !== undefined ? template : null;
}

/** A Jinja string literal holding `text` exactly. */
function literal(text: string): string {
  const escaped = text
    .replaceAll('\\', '\\\\')
    .replaceAll("'", "\\'")
    .replaceAll('\n', '\\n')
    .replaceAll('\r', '\\r')
    .replaceAll('\t', '\\t');
  return `'${escaped}'`;
}

/** `{{ before }}{{ message.content }}{{ after }}` for a role's text. */
function rendered(text: string): string {
  const at = text.indexOf(PLACEHOLDER);
  const before = text.slice(0, at);
  const after = text.slice(at + PLACEHOLDER.length);
  return `{{ ${literal(before)} }}{{ message.content }}{{ ${literal(after)} }}`;
}

/**
 * The Jinja chat template equivalent to `template`: each message in its role's text (system and
 * developer as system where it has one, tool results and unknown roles as user), then the
 * assistant's opening (the assistant text before `{Content}`, or the prompt's text after it).
 */
export function promptTemplateToJinja(template: PromptTemplate): string {
  const prompt = template.prompt ?? PLACEHOLDER;
  const userText = template.user ?? prompt.slice(0, prompt.indexOf(PLACEHOLDER) + PLACEHOLDER.length);
  const system = template.system ?? userText;
  const assistant = template.assistant ?? PLACEHOLDER;
  const opening =
    template.assistant !== undefined
      ? template.assistant.slice(0, template.assistant.indexOf(PLACEHOLDER))
      : prompt.slice(prompt.indexOf(PLACEHOLDER) + PLACEHOLDER.length);
  return [
    '{%- for message in messages -%}',
    "{%- if message.role == 'system' or message.role == 'developer' -%}",
    rendered(system),
    "{%- elif message.role == 'assistant' -%}",
    rendered(assistant),
    '{%- else -%}',
    rendered(userText),
    '{%- endif -%}',
    '{%- endfor -%}',
    `{%- if add_generation_prompt -%}{{ ${literal(opening)} }}{%- endif -%}`,
  ].join('');
}
