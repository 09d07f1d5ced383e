/**
 * Per-topic subscription bookkeeping for brokers with per-channel interest. The engine says what
 * it wants (listen / unlisten, possibly in quick succession); this applies the changes to the
 * transport one at a time per topic, so a late unsubscribe never undoes a newer subscribe.
 */

interface TopicState {
  wanted: boolean;
  active: boolean;
  /** The last queued transition; later ones chain behind it. */
  chain: Promise<void>;
}

export class TopicInterest {
  private readonly topics = new Map<string, TopicState>();

  constructor(
    private readonly subscribe: (topic: string) => Promise<void>,
    private readonly unsubscribe: (topic: string) => Promise<void>,
    private readonly onError: (err: unknown, topic: string) => void,
  ) {}

  /** Resolves once the topic is subscribed (rejects if the transport refused). */
  listen(topic: string): Promise<void> {
    const state = this.state(topic);
    state.wanted = true;
    const step = state.chain.then(async () => {
      if (!state.wanted || state.active) return;
      await this.subscribe(topic);
      state.active = true;
    });
    state.chain = step.catch(() => undefined).finally(() => this.forget(topic, state));
    return step;
  }

  unlisten(topic: string): void {
    const state = this.topics.get(topic);
    if (!state) return;
    state.wanted = false;
    state.chain = state.chain
      .then(async () => {
        if (state.wanted || !state.active) return;
        state.active = false;
        await this.unsubscribe(topic);
      })
      .catch((err) => this.onError(err, topic))
      .finally(() => this.forget(topic, state));
  }

  /** Topics currently subscribed or being subscribed. */
  count(): number {
    return this.topics.size;
  }

  clear(): void {
    this.topics.clear();
  }

  private state(topic: string): TopicState {
    let state = this.topics.get(topic);
    if (!state) {
      state = { wanted: false, active: false, chain: Promise.resolve() };
      this.topics.set(topic, state);
    }
    return state;
  }

  private forget(topic: string, state: TopicState): void {
    if (!state.wanted && !state.active && this.topics.get(topic) === state) this.topics.delete(topic);
  }
}
