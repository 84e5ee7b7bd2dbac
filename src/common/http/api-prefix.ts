/** Where every REST route lives; /v1 (OpenAI-compatible), health and metrics stay outside it. */
export const API_PREFIX = 'api/v1';
