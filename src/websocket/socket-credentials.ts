import type { IncomingHttpHeaders } from 'node:http';

import { bearerToken, Credentials } from '../auth/auth.service';

/** The protocol of this door; offered beside the token, it is the one answered. */
export const CHAT_PROTOCOL = 'chat.v1';
/** A browser's token travels as the subprotocol `bearer.<token>`. */
export const BEARER_PROTOCOL_PREFIX = 'bearer.';

const first = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value[0] : value;

function protocolToken(protocols: Iterable<string>): string | undefined {
  for (const protocol of protocols) {
    if (
      protocol.startsWith(BEARER_PROTOCOL_PREFIX) &&
      protocol.length > BEARER_PROTOCOL_PREFIX.length
    )
      return protocol.slice(BEARER_PROTOCOL_PREFIX.length);
  }
  return undefined;
}

/**
 * The credentials of an upgrade request. Headers as over HTTP; browsers cannot set them on
 * a WebSocket, so their token (a JWT, or an API key in api-key mode) may come as the
 * subprotocol `bearer.<token>` or, last, as `?access_token=`.
 */
export function socketCredentials(headers: IncomingHttpHeaders, url: string): Credentials {
  const offered = (first(headers['sec-websocket-protocol']) ?? '').split(',').map((p) => p.trim());
  const browserToken =
    protocolToken(offered) ??
    (new URL(url, 'http://localhost').searchParams.get('access_token') || undefined);
  return {
    bearer: bearerToken(first(headers.authorization)) ?? browserToken,
    apiKey: first(headers['x-api-key']) ?? browserToken,
  };
}

/**
 * The subprotocol answered (a browser fails the connection unless it is one it offered):
 * `chat.v1` when offered, so the token is not echoed back, else the `bearer.` one.
 */
export function selectProtocol(offered: Set<string>): string | false {
  if (offered.has(CHAT_PROTOCOL)) return CHAT_PROTOCOL;
  for (const protocol of offered) if (protocol.startsWith(BEARER_PROTOCOL_PREFIX)) return protocol;
  return false;
}
