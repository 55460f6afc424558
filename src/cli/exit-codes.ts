/**
 * The one table of exit codes. The README's "Exit codes" section mirrors it (a test keeps them in sync).
 */
import { ScaleflexKeysError } from '../errors';

export const EXIT = {
  /** Success; for `plan`, also "changes found" unless `--detailed-exitcode`. */
  OK: 0,
  /** An error: invalid input, API failure, stale plan, apply stopped part-way. */
  ERROR: 1,
  /** `plan --detailed-exitcode` found changes. Nothing else ever exits 2. */
  CHANGES: 2,
  /** A usage error (unknown flag, bad value, stray argument): 1, as Terraform does, never 2 ("changes"). */
  USAGE: 1,
  /** A guard refused (self-lockout, mass deactivation). */
  GUARD: 3,
  /** A policy rule of severity `error` is broken (validate, plan); warnings never change the exit code. */
  POLICY: 4,
} as const;

/** Error code -> exit code; codes not listed exit with EXIT.ERROR. */
const EXIT_BY_CODE: Readonly<Record<string, number>> = {
  USAGE: EXIT.USAGE,
  GUARD_REFUSED: EXIT.GUARD,
  POLICY_VIOLATION: EXIT.POLICY,
};

/** The exit code for an error: known codes from the table, everything else 1. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof ScaleflexKeysError) return EXIT_BY_CODE[error.code] ?? EXIT.ERROR;
  return EXIT.ERROR;
}
