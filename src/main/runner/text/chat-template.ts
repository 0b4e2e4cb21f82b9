// Chat templates: the model's own Jinja template (tokenizer_config.json), rendered with @huggingface/jinja.
import { Template } from '@huggingface/jinja';
import type { ChatMessage, ToolDefinition } from '../../../shared/engine';
import { readPromptTemplate, promptTemplateToJinja } from '../../../shared/prompt-template';
import { readJson } from '../model/model-files';
import { RunnerError } from '../runner-error';
import { TemplateSandbox } from './template-sandbox';
import type { TextTokenizer } from './tokenizer';

/** A chat message with its content as parts, the way vision-language chat templates read it. */
export interface PartsMessage {
  readonly role: ChatMessage['role'];
  readonly content: readonly (
    { readonly type: 'text'; readonly text: string } | { readonly type: 'image' }
  )[];
}

/** A compiled chat template with the special tokens it may refer to. */
export class ChatTemplate {
  readonly #sandbox: TemplateSandbox;

  private constructor(
    source: string,
    private readonly specials: Record<string, string>,
  ) {
    this.#sandbox = new TemplateSandbox(source);
  }

  /**
   * The model's chat template: Foundry Local's `inference_model.json` PromptTemplate where the
   * folder has one (it is what Foundry renders), else the tokenizer config's; null when neither.
   */
  static forModel(dir: string, tokenizer: TextTokenizer): ChatTemplate | null {
    const foundry = readPromptTemplate(readJson(dir, 'inference_model.json').PromptTemplate);
    if (foundry !== null) return ChatTemplate.#compile(promptTemplateToJinja(foundry), tokenizer);
    return ChatTemplate.fromTokenizer(tokenizer);
  }

  /** The template of a tokenizer's config, or null when the model ships none. */
  static fromTokenizer(tokenizer: TextTokenizer): ChatTemplate | null {
    let source = tokenizer.config.chat_template;
    // Some models ship several named templates; "default" is the chat one.
    if (Array.isArray(source)) {
      const named = source as { name?: string; template?: string }[];
      source = (named.find((entry) => entry.name === 'default') ?? named[0])?.template;
    }
    if (typeof source !== 'string' || source.trim() === '') return null;
    return ChatTemplate.#compile(source, tokenizer);
  }

  static #compile(source: string, tokenizer: TextTokenizer): ChatTemplate {
    const specials: Record<string, string> = {};
    for (const name of ['bos_token', 'eos_token', 'pad_token', 'unk_token']) {
      const text = tokenizer.special(name);
      if (text !== null) specials[name] = text;
    }
    try {
      // Parsed here, so that a template that does not parse refuses the load; rendered in its sandbox.
      new Template(source);
    } catch (error) {
      throw new RunnerError(
        'model_load_failed',
        `The model's chat template does not parse: ${(error as Error).message}`,
      );
    }
    return new ChatTemplate(source, specials);
  }

  /**
   * Renders messages whose content is a list of parts (`{type: 'text', text}`, `{type: 'image'}`),
   * as vision-language templates take them, ending with the assistant's turn.
   */
  renderParts(messages: readonly PartsMessage[]): string {
    return this.#sandbox.render({ messages, add_generation_prompt: true, ...this.specials });
  }

  /** Renders `messages` (and `tools`) into the prompt text, ending with the assistant's turn. */
  render(messages: readonly ChatMessage[], tools?: readonly ToolDefinition[]): string {
    return this.#sandbox.render({
      messages,
      ...(tools && tools.length > 0 ? { tools } : {}),
      add_generation_prompt: true,
      ...this.specials,
    });
  }
}
