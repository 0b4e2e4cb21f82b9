import type { ChatMessageRecord, Conversation } from '../../../shared/contract/conversations';
import type { ApiClient } from '../../lib/api-client';
import { messageOf, nowIso } from '../../lib/format';

/** The conversation on screen, its streaming answer, and the actions on it. */
export class ChatSession {
  #conversation = $state.raw<Conversation | null>(null);
  #messages = $state.raw<ChatMessageRecord[]>([]);
  #streaming = $state('');
  #busy = $state(false);
  #error = $state<string | null>(null);
  #controller: AbortController | null = null;

  constructor(private readonly api: ApiClient) {}

  get conversation(): Conversation | null {
    return this.#conversation;
  }
  get messages(): ChatMessageRecord[] {
    return this.#messages;
  }
  /** The answer being written, until it is done. */
  get streaming(): string {
    return this.#streaming;
  }
  get busy(): boolean {
    return this.#busy;
  }
  get error(): string | null {
    return this.#error;
  }

  /** Opens a saved conversation. */
  async open(id: string): Promise<void> {
    const detail = await this.api.call('conversation', { params: { id } });
    const { messages, ...conversation } = detail;
    this.#conversation = conversation;
    this.#messages = messages;
    this.#error = null;
  }

  /** Starts a new conversation with `model`. */
  async create(model: string): Promise<void> {
    const { messages, ...conversation } = await this.api.call('createConversation', { body: { model } });
    this.#conversation = conversation;
    this.#messages = messages;
  }

  /** Changes the model, system prompt or parameters. */
  async update(patch: Partial<Pick<Conversation, 'model' | 'systemPrompt' | 'params'>>): Promise<void> {
    const conversation = this.#conversation;
    if (!conversation) return;
    const { messages: _messages, ...next } = await this.api.call('updateConversation', {
      params: { id: conversation.id },
      body: patch,
    });
    this.#conversation = next;
  }

  /** Sends a user message and streams the answer. */
  async send(text: string): Promise<void> {
    if (text.trim() === '' || this.#busy) return;
    await this.#answer([
      ...this.#messages,
      { role: 'user', content: text, model: null, stats: null, createdAt: nowIso() },
    ]);
  }

  /** Answers the last question again. */
  async regenerate(): Promise<void> {
    const lastUser = this.#messages.findLastIndex((message) => message.role === 'user');
    if (lastUser === -1 || this.#busy) return;
    await this.#answer(this.#messages.slice(0, lastUser + 1));
  }

  /** Replaces a user message, forgets what followed it, and asks again. */
  async editAndResend(index: number, text: string): Promise<void> {
    if (this.#busy) return;
    const edited = this.#messages
      .slice(0, index + 1)
      .map((message, position) => (position === index ? { ...message, content: text } : message));
    await this.#answer(edited);
  }

  /** Stops the answer being written (Esc); what arrived so far is kept. */
  stop(): void {
    this.#controller?.abort();
  }

  async #answer(history: ChatMessageRecord[]): Promise<void> {
    const conversation = this.#conversation;
    if (!conversation) return;
    this.#messages = history;
    this.#busy = true;
    this.#error = null;
    this.#streaming = '';
    const controller = new AbortController();
    this.#controller = controller;
    const started = performance.now();
    let firstTokenAt: number | null = null;
    let usage = { prompt_tokens: 0, completion_tokens: 0 };
    let finish = 'stop';
    try {
      const { params, systemPrompt, model } = conversation;
      const response = await this.api.post(
        '/v1/chat/completions',
        {
          model,
          messages: [
            ...(systemPrompt ? [{ role: 'system', content: systemPrompt }] : []),
            ...history.map(({ role, content }) => ({ role, content })),
          ],
          stream: true,
          stream_options: { include_usage: true },
          ...(params.temperature !== undefined ? { temperature: params.temperature } : {}),
          ...(params.topP !== undefined ? { top_p: params.topP } : {}),
          ...(params.topK !== undefined ? { top_k: params.topK } : {}),
          ...(params.minP !== undefined ? { min_p: params.minP } : {}),
          ...(params.maxTokens !== undefined ? { max_tokens: params.maxTokens } : {}),
          ...(params.stop && params.stop.length > 0 ? { stop: params.stop } : {}),
          ...(params.seed !== undefined ? { seed: params.seed } : {}),
        },
        controller.signal,
      );
      if (!response.ok) {
        const body = (await response.json().catch(() => ({}))) as { error?: { message?: string } };
        throw new Error(body.error?.message ?? `Lodge answered ${response.status}.`);
      }
      const reader = response.body?.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const chunk = await reader?.read();
        if (!chunk || chunk.done) break;
        buffer += decoder.decode(chunk.value, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
          const data = buffer.slice(0, end).replace(/^data: /, '');
          buffer = buffer.slice(end + 2);
          if (data === '[DONE]') continue;
          const event = JSON.parse(data) as {
            error?: { message: string };
            usage?: typeof usage | null;
            choices?: { delta?: { content?: string }; finish_reason?: string | null }[];
          };
          if (event.error) throw new Error(event.error.message);
          if (event.usage) usage = event.usage;
          const choice = event.choices?.[0];
          if (choice?.delta?.content) {
            firstTokenAt ??= performance.now();
            this.#streaming += choice.delta.content;
          }
          if (choice?.finish_reason) finish = choice.finish_reason;
        }
      }
    } catch (error) {
      if (controller.signal.aborted) finish = 'stopped';
      else this.#error = messageOf(error);
    } finally {
      const ended = performance.now();
      const answer: ChatMessageRecord = {
        role: 'assistant',
        content: this.#streaming,
        model: conversation.model,
        createdAt: nowIso(),
        stats: {
          promptTokens: usage.prompt_tokens,
          completionTokens: usage.completion_tokens,
          timeToFirstTokenMs: (firstTokenAt ?? ended) - started,
          tokensPerSecond:
            firstTokenAt !== null && usage.completion_tokens > 1
              ? ((usage.completion_tokens - 1) / (ended - firstTokenAt)) * 1000
              : 0,
          finishReason: finish,
        },
      };
      if (this.#error === null || this.#streaming !== '') this.#messages = [...history, answer];
      this.#streaming = '';
      this.#busy = false;
      this.#controller = null;
      await this.#save();
    }
  }

  async #save(): Promise<void> {
    const conversation = this.#conversation;
    if (!conversation) return;
    try {
      const { messages: _messages, ...next } = await this.api.call('replaceMessages', {
        params: { id: conversation.id },
        body: { messages: this.#messages },
      });
      this.#conversation = next;
    } catch (error) {
      this.#error = `The conversation could not be saved: ${messageOf(error)}`;
    }
  }
}
