/**
 * The one secret redactor of the project. Every piece of outside text (a server's error body, a
 * driver's message, a Kubernetes status, a provider's answer) passes through it before it reaches
 * a log line, a job summary, a step output or a file we write.
 *
 * Two kinds of redaction:
 * - {@link redactSecrets} / {@link redactor}: known secret values (tokens, passwords, keys), in
 *   every form a server may echo them: raw, percent-encoded (upper- and lower-case hex, as
 *   `encodeURIComponent` and `encodeURI` write them, and with `+` for spaces as HTML forms do),
 *   JSON-escaped and base64 (standard and URL-safe alphabets).
 * - {@link redactCredentials}: credentials recognisable by their shape, whatever their value: the
 *   password in a URL's user information (`scheme://user:password@host`, also when the password
 *   holds an unencoded `@`, `/` or `:`), `password=` / `token=` style parameters of a conninfo
 *   string or query string, and `Authorization` header values.
 *
 * Sources: RFC 3986 §2.1 (percent-encoding, hex digits in either case), RFC 4648 §4–5 (base64 and
 * base64url), WHATWG URL §application/x-www-form-urlencoded (`+` for space), PostgreSQL docs
 * §34.1.1 "Connection Strings" (keyword/value and URI forms).
 */

/** What replaces a redacted value. */
export const REDACTED = '***';

/**
 * Secrets shorter than this many characters are neither masked (`::add-mask::`) nor replaced by
 * {@link redactor}: replacing a one- to three-character value would blank those letters or
 * digits wherever they occur (`a`, `db`, `123`), wrecking every later line and revealing the
 * value by its gaps. Such a value gives no protection anyway; a credential that short should be
 * rotated. Credentials recognisable by their shape (a URL's password, `password=`) are still
 * redacted whatever their length ({@link redactCredentials}).
 */
export const MIN_SECRET_LENGTH = 4;

/** Whether `value` is long enough to mask and redact (see {@link MIN_SECRET_LENGTH}). */
export function maskable(value: string | undefined): value is string {
  return !!value && value.trim().length >= MIN_SECRET_LENGTH;
}

/**
 * Every form in which `secret` may appear in outside text, longest first. Empty for an empty
 * secret.
 */
export function secretForms(secret: string): string[] {
  if (!secret) return [];
  const forms = new Set<string>([secret]);
  const component = encodeURIComponent(secret);
  forms.add(component);
  forms.add(component.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()));
  forms.add(component.replace(/%20/g, '+'));
  // application/x-www-form-urlencoded also leaves fewer characters bare than encodeURIComponent.
  forms.add(
    component
      .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
      .replace(/%20/g, '+'),
  );
  const uri = encodeURI(secret);
  forms.add(uri);
  forms.add(uri.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()));
  forms.add(JSON.stringify(secret).slice(1, -1));
  const b64 = Buffer.from(secret, 'utf8').toString('base64');
  forms.add(b64);
  forms.add(b64.replace(/=+$/, ''));
  forms.add(Buffer.from(secret, 'utf8').toString('base64url'));
  return [...forms].filter((f) => f.length > 0).sort((a, b) => b.length - a.length);
}

/**
 * A function that replaces every form (see {@link secretForms}) of every secret in `text` with
 * `***` (secrets shorter than {@link MIN_SECRET_LENGTH} are skipped, see there). Longer forms are replaced first, so a secret that contains another is hidden
 * whole. The returned function also applies {@link redactCredentials}.
 */
export function redactor(secrets: readonly (string | undefined)[]): (text: string) => string {
  const forms = [...new Set(secrets.flatMap((s) => (maskable(s) ? secretForms(s) : [])))].sort(
    (a, b) => b.length - a.length,
  );
  return (text) => {
    let out = text;
    for (const f of forms) out = out.split(f).join(REDACTED);
    return redactCredentials(out);
  };
}

/** `redactor(secrets)(text)`, for one-off use. */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[] = []): string {
  return redactor(secrets)(text);
}

const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@'"<>]*:)(\S*)@(?=[^\s@]*(?:[\s'"<>]|$))/gi;
const KEY_VALUE =
  /\b((?:password|passwd|pwd|token|access_token|api[_-]?key|app[_-]?key|secret|client_secret|sslpassword)\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s&;,'"]+)/gi;
const JSON_KEY_VALUE =
  /("(?:password|passwd|token|access_token|api[_-]?key|app[_-]?key|secret|client_secret|authorization)"\s*:\s*)"(?:[^"\\]|\\.)*"/gi;
const AUTH_HEADER =
  /\b(authorization\s*[:=]\s*)((?:bearer|basic|token|api-key)\s+)?([^\s,;'"<>]+)/gi;
/** A bare header value that looks like a credential, not a word (`expected`, `missing`). */
const CREDENTIAL_LIKE = /^(?=.*[0-9_.=+/-]).{8,}$/;

/**
 * Redacts credentials recognisable by their shape: a URL's password (up to the last `@` before
 * the host, so an unencoded `@` or `/` in the password is covered), `password=` and similar
 * keyword/value or query parameters, JSON fields named like a secret, and `Authorization` header
 * values. Safe on text that holds none of them.
 */
export function redactCredentials(text: string): string {
  return text
    .replace(URL_USERINFO, `$1${REDACTED}@`)
    .replace(JSON_KEY_VALUE, `$1"${REDACTED}"`)
    .replace(AUTH_HEADER, (m, key: string, scheme: string | undefined, value: string) =>
      scheme || CREDENTIAL_LIKE.test(value) ? `${key}${scheme ?? ''}${REDACTED}` : m,
    )
    .replace(KEY_VALUE, `$1${REDACTED}`);
}
