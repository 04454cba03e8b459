// Errors are classified once, where they are raised. Stages pass the class along; only settle acts on it.
//   retryable  - throttling, 5xx, timeouts: give the message back with a backoff.
//   permanent  - the file is broken, too large, unsupported, gone: index what we know and finish.
//   malformed  - the message itself is unusable: never delete it; the redrive policy moves it to the DLQ.

export type ErrorKind = 'retryable' | 'permanent' | 'malformed';

export type WorkerErrorCode =
  | 'RETRYABLE'
  | 'NOT_FOUND'
  | 'STALE_EVENT'
  | 'TOO_LARGE'
  | 'UNSUPPORTED'
  | 'REQUEST_REJECTED'
  | 'INDEX_REJECTED'
  | 'MALFORMED_MESSAGE'
  | 'AUTH'
  | 'CONFIG'
  | 'BAD_QUERY';

export class WorkerError extends Error {
  readonly kind: ErrorKind;
  readonly code: WorkerErrorCode;
  constructor(kind: ErrorKind, code: WorkerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.kind = kind;
    this.code = code;
  }
  /** Can trying the same thing again later help? */
  get retryable(): boolean {
    return this.kind === 'retryable';
  }
}

export class RetryableError extends WorkerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('retryable', 'RETRYABLE', message, options);
  }
}

/** The object (or the pinned version) no longer exists: finish the message, index nothing. */
export class NotFoundError extends WorkerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('permanent', 'NOT_FOUND', message, options);
  }
}

/** The object changed after this event was sent: a newer event carries the newer state. */
export class StaleEventError extends WorkerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('permanent', 'STALE_EVENT', message, options);
  }
}

export class TooLargeError extends WorkerError {
  readonly size: number;
  readonly limit: number;
  constructor(size: number, limit: number) {
    super('permanent', 'TOO_LARGE', `object is ${size} bytes, over the limit of ${limit} bytes`);
    this.size = size;
    this.limit = limit;
  }
}

export class IndexRejectedError extends WorkerError {
  readonly status: number;
  readonly type: string | undefined;
  constructor(status: number, type: string | undefined, reason: string) {
    super('permanent', 'INDEX_REJECTED', `index rejected the document (${status}${type ? ` ${type}` : ''}): ${reason}`);
    this.status = status;
    this.type = type;
  }
}

export class MalformedMessageError extends WorkerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('malformed', 'MALFORMED_MESSAGE', message, options);
  }
}

/**
 * A dependency refused our identity (HTTP 401/403). Not the message's fault, so it is retryable for
 * the message (it must not be dropped or burn its receives); but retrying the same request at once
 * cannot help, so the intake breaker holds work and probes until the permission is fixed.
 */
export class AuthError extends WorkerError {
  readonly status: number;
  constructor(status: number, message: string, options?: { cause?: unknown }) {
    super('retryable', 'AUTH', message, options);
    this.status = status;
  }
}

/** A bad configuration value: names the variable, the value and what is allowed. */
export class ConfigError extends WorkerError {
  readonly variable: string;
  constructor(variable: string, message: string) {
    super('permanent', 'CONFIG', `${variable}: ${message}`);
    this.variable = variable;
  }
}

/** A search request that cannot be answered as asked: names the parameter and the value (HTTP 400). */
export class QueryError extends WorkerError {
  readonly parameter: string;
  constructor(parameter: string, message: string) {
    super('permanent', 'BAD_QUERY', `${parameter}: ${message}`);
    this.parameter = parameter;
  }
}

/**
 * Auth and key-management refusals (a role missing a grant, a bucket policy, a disabled KMS key, expired
 * credentials) are about the worker's configuration, not the object: once fixed, the same request
 * succeeds. They are retryable, so the message waits on the queue and reaches the DLQ by redrive.
 * InvalidObjectState (an archived object) is a 403 too, but about the object: it stays permanent.
 */
const AUTH_ERROR = /^(AccessDenied|AccessDeniedException|Forbidden|InvalidAccessKeyId|SignatureDoesNotMatch|ExpiredToken|ExpiredTokenException|InvalidToken|TokenRefreshRequired|UnrecognizedClientException|InvalidClientTokenId|AllAccessDisabled|AccountProblem|KMS\..*)$/;

export function isAuthError(name: string, code: string | undefined, status: number | undefined): boolean {
  if (AUTH_ERROR.test(name) || (code !== undefined && AUTH_ERROR.test(code))) return true;
  return status === 401 || (status === 403 && name !== 'InvalidObjectState' && code !== 'InvalidObjectState');
}

/**
 * Classifies a failed call to a dependency (S3, SQS, any SDK or the network), by the HTTP status the
 * AWS SDK v3 and the OpenSearch client both expose: 404 -> NOT_FOUND, 412 -> STALE_EVENT; throttling,
 * 5xx, timeouts, connection errors and auth refusals (401/403, KMS) -> RETRYABLE; any other 4xx ->
 * REQUEST_REJECTED (permanent).
 * Extraction failures never come here: the pool reports them in the result's status.
 */
export function classifyDependencyError(err: unknown, what: string): WorkerError {
  if (err instanceof WorkerError) return err;
  const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown; statusCode?: number; meta?: { statusCode?: number } };
  const status = e?.$metadata?.httpStatusCode ?? e?.statusCode ?? e?.meta?.statusCode;
  const name = e?.name ?? '';
  const text = e?.message ?? String(err);
  // The AWS error code (AccessDenied, KMS.DisabledException) says more to an operator than its message.
  const msg = name && name !== 'Error' && !text.includes(name) ? `${what}: ${name}: ${text}` : `${what}: ${text}`;
  if (status === 404 || name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchVersion') return new NotFoundError(msg, { cause: err });
  if (status === 412 || name === 'PreconditionFailed') return new StaleEventError(msg, { cause: err });
  if (isAuthError(name, e?.code ?? (e as { Code?: string })?.Code, status)) return new RetryableError(msg, { cause: err });
  if (status === undefined || status === 429 || status >= 500 || e?.$retryable || /Throttl|Timeout|ECONNRESET|ECONNREFUSED|EPIPE|socket hang up|AbortError/i.test(`${name} ${e?.code ?? ''} ${e?.message ?? ''}`)) {
    return new RetryableError(msg, { cause: err });
  }
  return new WorkerError('permanent', 'REQUEST_REJECTED', msg, { cause: err });
}

/** The message of anything thrown, with the user info of any URL in it redacted. */
export function errorMessage(err: unknown): string {
  return redactUrl(err instanceof Error ? err.message : String(err));
}

/**
 * A text fit for logs and errors: in every URL in it, the password of its user info becomes *** (the
 * user name stays: it says which identity), and user info without a password (often a token) becomes
 * *** whole. Config errors, CLI messages and log lines may quote INDEX_URL and must never show its
 * secret. Also catches a malformed URL such as "https://user:p@ss@host", which URL parsing rejects.
 */
export function redactUrl(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#"'<>]*)@/gi, (_, scheme: string, info: string) => {
    const colon = info.indexOf(':');
    return `${scheme}${colon > 0 ? `${info.slice(0, colon)}:***` : '***'}@`;
  });
}

