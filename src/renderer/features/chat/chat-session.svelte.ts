import { SvelteMap } from 'svelte/reactivity';
import type { ChatMessageRecord, Conversation } from '../../../shared/contract/conversations';
import type { ApiClient } from '../../lib/api-client';
import { messageOf, nowIso } from '../../lib/format';
import { AnswerMeter } from './answer-meter';
import { plainTitle } from './plain-title';
import { streamChat, type ChatRequestMessage } from './stream-chat';

/** A saved message as the chat completions API takes it: its images as image_url parts before its text. */
function requestMessage({ role, content, images }: ChatMessageRecord): ChatRequestMessage {
  if (!images || images.length === 0) return { role, content };
  return {
    role,
    content: [
      ...images.map((url) => ({ type: 'image_url' as const, image_url: { url } })),
      ...(content === '' ? [] : [{ type: 'text' as const, text: content }]),
    ],
  };
}

/** An answer being written, tied to the conversation it answers whatever the screen shows meanwhile. */
class PendingAnswer {
  /** The text so far, rendered at most once a frame. */
  text = $state('');
  readonly controller = new AbortController();

  constructor(
    readonly conversationId: string,
    /** The messages the answer follows, as they will be saved. */
    readonly history: ChatMessageRecord[],
  ) {}
}

/**
 * The conversation on screen, the answers being written (each tied to its own conversation), and
 * the actions on them. A new chat exists only on screen until its first message is sent.
 */
export class ChatSession {
  #conversation = $state.raw<Conversation | null>(null);
  #messages = $state.raw<ChatMessageRecord[]>([]);
  /** The model of a new chat not yet sent. */
  #draftModel = $state<string | null>(null);
  #answers = new SvelteMap<string, PendingAnswer>();
  #error = $state.raw<{ conversationId: string | null; text: string } | null>(null);
  /** Which `open` call is the latest: an earlier one that settles later is dropped. */
  #opening = 0;

  constructor(
    private readonly api: ApiClient,
    /** Called when a conversation was created or saved, so lists can refresh. */
    private readonly onsaved: () => void = () => undefined,
  ) {}

  get conversation(): Conversation | null {
    return this.#conversation;
  }
  /** The model the next message goes to. */
  get model(): string | null {
    return this.#conversation?.model ?? this.#draftModel;
  }
  get messages(): ChatMessageRecord[] {
    return this.#pending?.history ?? this.#messages;
  }
  /** The answer being written in this conversation, until it is done. */
  get streaming(): string {
    return this.#pending?.text ?? '';
  }
  /** Whether this conversation's answer is being written. */
  get busy(): boolean {
    return this.#pending !== undefined;
  }
  /** What went wrong last in this conversation (or with no conversation in particular). */
  get error(): string | null {
    const error = this.#error;
    if (!error) return null;
    return error.conversationId === null || error.conversationId === (this.#conversation?.id ?? null)
      ? error.text
      : null;
  }
  /** Whether an answer is being written in conversation `id` (on screen or not). */
  answering(id: string): boolean {
    return this.#answers.has(id);
  }

  get #pending(): PendingAnswer | undefined {
    const id = this.#conversation?.id;
    return id === undefined ? undefined : this.#answers.get(id);
  }

  #fail(conversationId: string | null, text: string): void {
    this.#error = { conversationId, text };
  }

  /** Opens a saved conversation; its answer keeps streaming if one is being written. */
  async open(id: string): Promise<void> {
    const ticket = ++this.#opening;
    try {
      const { messages, ...conversation } = await this.api.call('conversation', { params: { id } });
      if (ticket !== this.#opening) return;
      this.#conversation = conversation;
      this.#messages = messages;
      this.#draftModel = null;
      this.#error = null;
    } catch (error) {
      if (ticket === this.#opening)
        this.#fail(null, `The conversation could not be opened: ${messageOf(error)}`);
    }
  }

  /** Shows a new, empty chat with `model`; it is created when its first message is sent. */
  startNew(model: string): void {
    this.#opening += 1;
    this.#conversation = null;
    this.#messages = [];
    this.#draftModel = model;
    this.#error = null;
  }

  /** Changes the model, system prompt or parameters. */
  async update(patch: Partial<Pick<Conversation, 'model' | 'systemPrompt' | 'params'>>): Promise<void> {
    const conversation = this.#conversation;
    if (!conversation) {
      if (patch.model) this.#draftModel = patch.model;
      return;
    }
    try {
      const { messages: _messages, ...next } = await this.api.call('updateConversation', {
        params: { id: conversation.id },
        body: patch,
      });
      if (this.#conversation?.id === next.id) this.#conversation = next;
    } catch (error) {
      this.#fail(conversation.id, `The change could not be saved: ${messageOf(error)}`);
    }
  }

  /** Sends a user message, with any images attached (creating the conversation on its first one), and streams the answer. */
  async send(text: string, images: readonly string[] = []): Promise<void> {
    if ((text.trim() === '' && images.length === 0) || this.busy) return;
    const question: ChatMessageRecord = {
      role: 'user',
      content: text,
      model: null,
      stats: null,
      createdAt: nowIso(),
      ...(images.length > 0 ? { images: [...images] } : {}),
    };
    if (!this.#conversation) {
      const model = this.#draftModel;
      if (!model) return;
      const ticket = ++this.#opening;
      try {
        const title = plainTitle(text);
        const { messages: _messages, ...created } = await this.api.call('createConversation', {
          body: { model, ...(title === '' ? {} : { title }) },
        });
        if (ticket !== this.#opening) return;
        this.#conversation = created;
        this.#messages = [];
        this.#draftModel = null;
        this.onsaved();
      } catch (error) {
        this.#fail(null, `The chat could not be created: ${messageOf(error)}`);
        return;
      }
    }
    await this.#answer([...this.#messages, question]);
  }

  /** Answers the last question again. */
  async regenerate(): Promise<void> {
    const lastUser = this.#messages.findLastIndex((message) => message.role === 'user');
    if (lastUser === -1 || this.busy) return;
    await this.#answer(this.#messages.slice(0, lastUser + 1));
  }

  /** Replaces a user message, forgets what followed it, and asks again. */
  async editAndResend(index: number, text: string): Promise<void> {
    if (this.busy) return;
    const edited = this.#messages
      .slice(0, index + 1)
      .map((message, position) => (position === index ? { ...message, content: text } : message));
    await this.#answer(edited);
  }

  /** Stops the answer being written in this conversation (Esc); what arrived so far is kept. */
  stop(): void {
    this.#pending?.controller.abort();
  }

  /** Stops the answer being written in conversation `id`, on screen or not (it is being deleted). */
  stopIn(id: string): void {
    this.#answers.get(id)?.controller.abort();
  }

  async #answer(history: ChatMessageRecord[]): Promise<void> {
    const conversation = this.#conversation;
    if (!conversation) return;
    const pending = new PendingAnswer(conversation.id, history);
    this.#answers.set(conversation.id, pending);
    this.#messages = history;
    if (this.#error?.conversationId === conversation.id) this.#error = null;
    const meter = new AnswerMeter();
    // What the conversation had already used: this prompt holds at least that much.
    const earlier = history.findLast((message) => message.stats !== null)?.stats;
    const contextBefore = earlier ? earlier.promptTokens + earlier.completionTokens : 0;
    let received = '';
    let frame: number | null = null;
    let messages: ChatMessageRecord[] = history;
    try {
      const { params, systemPrompt, model } = conversation;
      const request = [
        ...(systemPrompt ? [{ role: 'system', content: systemPrompt }] : []),
        ...history.map(requestMessage),
      ];
      const answer = await streamChat(
        this.api,
        { model, messages: request, params },
        pending.controller.signal,
        (text) => {
          meter.chunk();
          // Tokens can arrive faster than the screen refreshes: render (and re-parse the markdown) at
          // most once a frame, always with the latest text.
          received = text;
          frame ??= requestAnimationFrame(() => {
            frame = null;
            pending.text = received;
          });
        },
      );
      const { text, ...stats } = meter.figures(answer, contextBefore);
      messages = [...history, { role: 'assistant', content: text, model, createdAt: nowIso(), stats }];
    } catch (error) {
      this.#fail(conversation.id, messageOf(error));
      if (received !== '')
        messages = [
          ...history,
          {
            role: 'assistant',
            content: received,
            model: conversation.model,
            createdAt: nowIso(),
            stats: null,
          },
        ];
    } finally {
      if (frame !== null) cancelAnimationFrame(frame);
    }
    if (this.#conversation?.id === conversation.id) this.#messages = messages;
    this.#answers.delete(conversation.id);
    await this.#save(conversation.id, messages);
  }

  /** Saves the messages of conversation `id`, which need not be the one on screen any more. */
  async #save(id: string, messages: ChatMessageRecord[]): Promise<void> {
    const here = () => this.#conversation?.id === id;
    try {
      const { messages: saved, ...next } = await this.api.call('replaceMessages', {
        params: { id },
        body: { messages },
      });
      if (here()) {
        this.#conversation = next;
        this.#messages = saved;
      }
      this.onsaved();
    } catch (error) {
      this.#fail(id, `The conversation could not be saved: ${messageOf(error)}`);
    }
  }
}
