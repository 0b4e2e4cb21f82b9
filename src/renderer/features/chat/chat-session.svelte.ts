import type { ChatMessageRecord, Conversation } from '../../../shared/contract/conversations';
import type { ApiClient } from '../../lib/api-client';
import { messageOf, nowIso } from '../../lib/format';
import { streamChat } from './stream-chat';

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
    let received = '';
    let frame: number | null = null;
    try {
      const { params, systemPrompt, model } = conversation;
      const messages = [
        ...(systemPrompt ? [{ role: 'system', content: systemPrompt }] : []),
        ...history.map(({ role, content }) => ({ role, content })),
      ];
      const answer = await streamChat(this.api, { model, messages, params }, controller.signal, (text) => {
        // Tokens can arrive faster than the screen refreshes: render (and re-parse the markdown) at most
        // once a frame, always with the latest text.
        received = text;
        frame ??= requestAnimationFrame(() => {
          frame = null;
          this.#streaming = received;
        });
      });
      const { text, ...stats } = answer;
      this.#messages = [...history, { role: 'assistant', content: text, model, createdAt: nowIso(), stats }];
    } catch (error) {
      this.#error = messageOf(error);
      if (received !== '') {
        this.#messages = [
          ...history,
          {
            role: 'assistant',
            content: received,
            model: conversation.model,
            createdAt: nowIso(),
            stats: null,
          },
        ];
      }
    } finally {
      if (frame !== null) cancelAnimationFrame(frame);
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
