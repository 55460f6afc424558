/**
 * The one table of exit codes, and the map from error codes to them. The README's "Exit codes" section and every
 * command's `--help` are generated from / checked against `EXIT_CODE_TABLE` (test/unit/cli-exit-codes.test.ts).
 * Nothing but `plan --detailed-exitcode` finding changes ever exits 2, so CI never mistakes an error for changes.
 */
import { ScaleflexKeysError } from '../errors';

export const EXIT = {
  /** Success; for `plan`, also "changes found" unless `--detailed-exitcode`. */
  OK: 0,
  /** An error: invalid input, missing credential, API failure, a precondition failed, apply stopped part-way. */
  ERROR: 1,
  /** A usage error (unknown flag, bad value, stray argument): 1, as Terraform does, never 2. */
  USAGE: 1,
  /** `plan --detailed-exitcode` found changes. Nothing else ever exits 2. */
  CHANGES: 2,
  /** A guard refused (self-lockout, protected key, last admin key, mass deactivation or permission removal). */
  GUARD: 3,
  /** A policy rule of severity `error` refused the manifest. */
  POLICY: 4,
} as const;

/** The documented table: code and meaning, in order. */
export const EXIT_CODE_TABLE: readonly (readonly [number, string])[] = [
  [EXIT.OK, 'success; for `plan`, also "changes found" unless `--detailed-exitcode`'],
  [EXIT.ERROR, 'an error: invalid input, a usage error (unknown flag, bad value), missing credential, API failure, a saved plan that no longer applies, apply stopped part-way'],
  [EXIT.CHANGES, '`plan --detailed-exitcode` found changes (nothing else exits 2)'],
  [EXIT.GUARD, 'a guard refused (self-lockout, protected key, last admin key, mass deactivation, mass permission removal)'],
  [EXIT.POLICY, 'a policy rule of severity `error` refused the manifest'],
];

/** The exit-code table as `--help` prints it. */
export const EXIT_CODES_HELP = `Exit codes:\n${EXIT_CODE_TABLE.map(([code, meaning]) => `  ${code}  ${meaning}`).join('\n')}`;

/** Error code -> exit code; codes not listed exit with EXIT.ERROR. */
export const EXIT_BY_CODE: Readonly<Record<string, number>> = {
  USAGE: EXIT.USAGE,
  GUARD_REFUSED: EXIT.GUARD,
  POLICY_VIOLATION: EXIT.POLICY,
};

/** The exit code for an error: known codes from the table, everything else 1. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof ScaleflexKeysError) return EXIT_BY_CODE[error.code] ?? EXIT.ERROR;
  return EXIT.ERROR;
}
