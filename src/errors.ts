/**
 * Every error scaleflex-keys raises on purpose, each with a stable `code` (after undici's core/errors).
 * The CLI maps codes to exit codes in one table (`src/cli/exit-codes.ts`); messages say what happened,
 * why, and what to do next. Nothing here may carry a secret: callers pass redacted text.
 */

/** A second place a diagnostic refers to ("declared first at ..."), rendered by the formatters. */
export interface RelatedLocation {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
  /** The construct path, for desired state synthesized by CDKTF. */
  readonly construct?: string;
  /** What is there, e.g. `first declared here`. */
  readonly message: string;
}

/** One problem found in an input file, pointing at the offending node. */
export interface Diagnostic {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
  readonly severity: 'error' | 'warning';
  readonly message: string;
  /** JSON path of the offending node, e.g. `/projects/0/keys/2/permissions/1`. */
  readonly path: string;
  /** The construct path of the offending node, for desired state synthesized by CDKTF. */
  readonly construct?: string;
  /** Other places the problem involves (the first of two duplicates, say). */
  readonly related?: readonly RelatedLocation[];
}

/** Base class: an expected failure with a stable code, reported without a stack trace. */
export class ScaleflexKeysError extends Error {
  override name = 'ScaleflexKeysError';
  readonly code: string = 'SCALEFLEX_KEYS_ERROR';
  /** What to do next, when there is something to say. */
  readonly hint?: string;

  constructor(message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    if (options?.hint !== undefined) this.hint = options.hint;
  }
}

/** The command line itself is wrong: unknown flag, missing argument, bad value. */
export class UsageError extends ScaleflexKeysError {
  override name = 'UsageError';
  override readonly code = 'USAGE';
}

/** A manifest, synthesized stack or plan file cannot be read or is invalid; carries every problem found. */
export class ManifestError extends ScaleflexKeysError {
  override name = 'ManifestError';
  override readonly code = 'MANIFEST_INVALID';
  constructor(
    readonly diagnostics: readonly Diagnostic[],
    message = `${diagnostics.length} problem${diagnostics.length === 1 ? '' : 's'} found`,
  ) {
    super(message);
  }
}

/** A project's admin key is missing: the variable is unset or the file is absent or empty. */
export class CredentialsError extends ScaleflexKeysError {
  override name = 'CredentialsError';
  override readonly code = 'CREDENTIALS_MISSING';
}

/** The admin key is valid but lacks a permission the command needs, or is deactivated. */
export class InsufficientPermissionError extends ScaleflexKeysError {
  override name = 'InsufficientPermissionError';
  override readonly code = 'KEY_LACKS_PERMISSION';
}

/** An API URL is not acceptable (plain http to a non-loopback host, malformed). */
export class InsecureUrlError extends ScaleflexKeysError {
  override name = 'InsecureUrlError';
  override readonly code = 'INSECURE_URL';
}

/** The Scaleflex API answered with an error (after retries, where retries apply). */
export class ScaleflexApiError extends ScaleflexKeysError {
  override name = 'ScaleflexApiError';
  override readonly code = 'API_ERROR';
  readonly status: number;
  /** The API's own error code, e.g. `PERMISSION_DENIED`. */
  readonly apiCode: string;
  readonly msg: string;
  readonly requestId?: string;
  readonly method: string;
  readonly path: string;

  constructor(init: {
    status: number;
    apiCode: string;
    msg: string;
    hint?: string;
    requestId?: string;
    method: string;
    path: string;
    message?: string;
  }) {
    super(
      init.message ??
        `${init.method} ${init.path} failed: ${init.status} ${init.apiCode}: ${init.msg}` +
          (init.requestId ? ` (request id ${init.requestId})` : ''),
      init.hint === undefined ? undefined : { hint: init.hint },
    );
    this.status = init.status;
    this.apiCode = init.apiCode;
    this.msg = init.msg;
    if (init.requestId !== undefined) this.requestId = init.requestId;
    this.method = init.method;
    this.path = init.path;
  }
}

/** The API could not be reached or did not answer in time, after every retry the deadline allowed. */
export class ApiUnreachableError extends ScaleflexKeysError {
  override name = 'ApiUnreachableError';
  override readonly code = 'API_UNREACHABLE';
}

/** A mutating call was made through a client opened read-only (for `plan`). */
export class ReadOnlyClientError extends ScaleflexKeysError {
  override name = 'ReadOnlyClientError';
  override readonly code = 'READ_ONLY_CLIENT';
}

/** A manifest entry matches two or more live keys; the project is refused until the entry is pinned. */
export class AmbiguousMatchError extends ScaleflexKeysError {
  override name = 'AmbiguousMatchError';
  override readonly code = 'AMBIGUOUS_MATCH';
}

/** An entry pins a `uuid` that no live key of the project has. */
export class PinnedKeyNotFoundError extends ScaleflexKeysError {
  override name = 'PinnedKeyNotFoundError';
  override readonly code = 'PINNED_KEY_NOT_FOUND';
}

/** A guard refused the plan (self-lockout, mass deactivation). */
export class GuardRefusedError extends ScaleflexKeysError {
  override name = 'GuardRefusedError';
  override readonly code = 'GUARD_REFUSED';
}

/** A saved plan was made against live keys that have changed since. */
export class StalePlanError extends ScaleflexKeysError {
  override name = 'StalePlanError';
  override readonly code = 'STALE_PLAN';
}

/** A key changed between the listing and the mutation; the project stops. */
export class ChangedSincePlanError extends ScaleflexKeysError {
  override name = 'ChangedSincePlanError';
  override readonly code = 'CHANGED_SINCE_PLAN';
}

/** A saved plan file cannot be read, has the wrong format version, or fails its schema. */
export class PlanFileError extends ScaleflexKeysError {
  override name = 'PlanFileError';
  override readonly code = 'PLAN_INVALID';
}

/** Apply needs a confirmation it did not get (no TTY and no `--auto-approve`, or an answer other than `yes`). */
export class NotConfirmedError extends ScaleflexKeysError {
  override name = 'NotConfirmedError';
  override readonly code = 'NOT_CONFIRMED';
}

/** An apply stopped part-way in at least one project; what was done and not done has been reported. */
export class ApplyFailedError extends ScaleflexKeysError {
  override name = 'ApplyFailedError';
  override readonly code = 'APPLY_FAILED';
}

/** A secrets file (`--secrets-out`, `secrets pull --out`) cannot be read for merging or cannot be written. */
export class SecretsFileError extends ScaleflexKeysError {
  override name = 'SecretsFileError';
  override readonly code = 'SECRETS_FILE';
}

/** Another emulator holds the state directory's lock. */
export class StateLockedError extends ScaleflexKeysError {
  override name = 'StateLockedError';
  override readonly code = 'STATE_LOCKED';
}

/** The emulator's state directory holds something it cannot read. */
export class StateCorruptError extends ScaleflexKeysError {
  override name = 'StateCorruptError';
  override readonly code = 'STATE_CORRUPT';
}

/** A policy rule of severity `error` found keys that break it (`validate`, `plan`); exit code 4. */
export class PolicyViolationError extends ScaleflexKeysError {
  override name = 'PolicyViolationError';
  override readonly code = 'POLICY_VIOLATION';
}

/** A saved plan no longer applies: a key it changes moved, or the manifest it was made from changed. */
export class PreconditionFailedError extends ScaleflexKeysError {
  override name = 'PreconditionFailedError';
  override readonly code = 'PRECONDITION_FAILED';
}

/**
 * A rotation that must not happen: the key the tool runs with, an entry pinned by `uuid`, a key whose new secret
 * would land nowhere (no `deliver:` and no `--secrets-out`), or nothing to roll back. Nothing was changed.
 */
export class RotationRefusedError extends ScaleflexKeysError {
  override name = 'RotationRefusedError';
  override readonly code = 'ROTATION_REFUSED';
}

/**
 * A new secret could not be delivered to a sink of its key's `deliver:` (the program failed or timed out, the file
 * could not be written), or the operator forbids the `exec` sinks the manifest names. The key stays; `secrets push`
 * delivers again.
 */
export class DeliveryError extends ScaleflexKeysError {
  override name = 'DeliveryError';
  override readonly code = 'DELIVERY_FAILED';
}
