import http from 'node:http';
import https from 'node:https';

import nodeFetch, { RequestInit as NodeFetchInit } from 'node-fetch';

const httpAgent = new http.Agent({ keepAlive: true });
const httpsAgent = new https.Agent({ keepAlive: true });

/**
 * The `fetch` the provider SDKs are given: node-fetch over node:http with keep-alive
 * agents. Global fetch (undici, WHATWG streams) cost the SDK call about twice the CPU
 * and several times the memory per open stream in the benchmark (bench/).
 */
export const keepAliveFetch = ((url: string | URL, init?: NodeFetchInit) =>
  nodeFetch(url.toString(), {
    ...init,
    agent: (parsed: URL) => (parsed.protocol === 'http:' ? httpAgent : httpsAgent),
  })) as unknown as typeof fetch;
