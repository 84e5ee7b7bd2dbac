/**
 * A turn's event as every stream door sends it (SSE frames, WebSocket messages, the relay
 * to other replicas): its monotonic id, its type, and its payload (toEventPayload).
 */
export interface TurnEventFrame {
  id: number;
  event: string;
  data: unknown;
}

/** A turn's frames pushed as they happen, and when they stop: what a door follows. */
export interface TurnEventSource {
  /** Starts delivering events to `write`; returns the way to stop. */
  listen(write: (event: TurnEventFrame) => void): () => void;
  done: Promise<unknown>;
  /** The headers go out once this resolves (asked after `listen`): when the stream is live. */
  ready?: () => Promise<unknown>;
}
