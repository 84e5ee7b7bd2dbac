import type { TransportSingleOptions } from 'pino';

/** LOG_PRETTY: one human-readable line per entry, the same for bootstrap and request logs. */
export function prettyTransport(pretty: boolean): TransportSingleOptions | undefined {
  return pretty ? { target: 'pino-pretty', options: { singleLine: true } } : undefined;
}
