/** Query parameters whose values are secrets by their name (api_key, token, sig, …). */
const SECRET_PARAM = /key|token|secret|pass|pwd|auth|sig|credential|session|cookie/i;
const SECRET_PAIR =
  /([?&][^=&#\s]*(?:key|token|secret|pass|pwd|auth|sig|credential|session|cookie)[^=&#\s]*=)[^&#\s]*/gi;

/**
 * URLs inside free text (error messages from SDKs and fetch name the URL they tried),
 * without the punctuation that ends a sentence or clause after them.
 */
const URL_IN_TEXT = /\b[a-z][a-z\d+.-]{0,31}:\/\/[^\s"'<>`]*[^\s"'<>`.,:;!?)\]]/gi;

const HIDDEN = '***';

/**
 * A URL as it may be shown (error messages, logs, /api/v1/models): user name, password
 * and the values of secret-looking query parameters replaced by ***. A URL without any
 * comes back exactly as given; one that does not parse has anything before an @ and
 * secret-looking query values hidden all the same.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url.replace(/\/\/[^/@]*@/, `//${HIDDEN}@`).replace(SECRET_PAIR, `$1${HIDDEN}`);
  }
  let changed = false;
  if (parsed.username || parsed.password) {
    parsed.username = HIDDEN;
    parsed.password = '';
    changed = true;
  }
  for (const name of new Set(parsed.searchParams.keys())) {
    if (SECRET_PARAM.test(name)) {
      parsed.searchParams.set(name, HIDDEN);
      changed = true;
    }
  }
  return changed ? parsed.toString().replaceAll('%2A%2A%2A', HIDDEN) : url;
}

/** `text` with every URL in it redacted (see redactUrl). */
export function redactUrls(text: string): string {
  return text.replace(URL_IN_TEXT, redactUrl);
}

/** `text` with every URL in it left out, for what anyone may read (/health/ready). */
export function withoutUrls(text: string): string {
  return text.replace(URL_IN_TEXT, '(URL hidden)');
}
