import { Template } from '@huggingface/jinja';
import { describe, expect, it } from 'vitest';
import { promptTemplateToJinja, readPromptTemplate } from '../../../src/shared/prompt-template';

const render = (source: string, messages: { role: string; content: string }[]) =>
  new Template(source).render({ messages, add_generation_prompt: true });

describe("Foundry Local's PromptTemplate as a chat template", () => {
  it('puts each message in its role’s text and ends with the assistant’s opening', () => {
    const template = readPromptTemplate({
      system: '<|system|>\n{Content}<|end|>\n',
      user: '<|user|>\n{Content}<|end|>\n',
      assistant: '<|assistant|>\n{Content}<|end|>\n',
      prompt: '<|user|>\n{Content}<|end|>\n<|assistant|>\n',
    });
    if (template === null) throw new Error('not read');
    const text = render(promptTemplateToJinja(template), [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'tool', content: '42' },
    ]);
    expect(text).toBe(
      '<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n<|user|>\n42<|end|>\n<|assistant|>\n',
    );
  });

  it('keeps quotes, backslashes and Jinja-looking text in the template literally', () => {
    const template = readPromptTemplate({ user: "{{ it's }} \\n {% raw %}\t{Content}'\n" });
    if (template === null) throw new Error('not read');
    expect(render(promptTemplateToJinja(template), [{ role: 'user', content: 'x' }])).toBe(
      "{{ it's }} \\n {% raw %}\tx'\n",
    );
  });

  it('renders a single turn exactly as the prompt text where there are no role texts', () => {
    const template = readPromptTemplate({ prompt: '<|user|>{Content}<|end|><|assistant|>' });
    if (template === null) throw new Error('not read');
    expect(render(promptTemplateToJinja(template), [{ role: 'user', content: 'Hi' }])).toBe(
      '<|user|>Hi<|end|><|assistant|>',
    );
  });

  it('is not read from a value without a {Content} placeholder', () => {
    expect(readPromptTemplate({ user: 'no placeholder' })).toBeNull();
    expect(readPromptTemplate('text')).toBeNull();
  });
});
