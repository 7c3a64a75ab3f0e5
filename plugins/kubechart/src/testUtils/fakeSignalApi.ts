import type { SignalApi } from '@backstage/plugin-signals-react';
import type { JsonObject } from '@backstage/types';

/** A SignalApi whose messages are published by the test. */
export class FakeSignalApi implements SignalApi {
  private readonly subscribers = new Map<
    string,
    Set<(m: JsonObject) => void>
  >();

  subscribe<TMessage extends JsonObject = JsonObject>(
    channel: string,
    onMessage: (message: TMessage) => void,
  ) {
    const set = this.subscribers.get(channel) ?? new Set();
    const handler = onMessage as (m: JsonObject) => void;
    set.add(handler);
    this.subscribers.set(channel, set);
    return { unsubscribe: () => set.delete(handler) };
  }

  publish(channel: string, message: JsonObject) {
    this.subscribers.get(channel)?.forEach(handler => handler(message));
  }

  subscriberCount(channel: string): number {
    return this.subscribers.get(channel)?.size ?? 0;
  }
}
