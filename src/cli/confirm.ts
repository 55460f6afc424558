/**
 * Apply's confirmation step (Terraform's "Only 'yes' will be accepted"): on a terminal it asks; without one it
 * needs `--auto-approve`, so that a CI job never hangs waiting for an answer nobody can give.
 */
import { NotConfirmedError } from '../errors';
import type { Io } from './io';

/** The question apply asks on a terminal. */
export const CONFIRM_PROMPT = 'Do you want to apply these changes? Only "yes" will be accepted: ';

/**
 * Resolves when the user approved (or `--auto-approve` was given); throws NotConfirmedError otherwise.
 * Nothing has been changed when it throws.
 */
export async function confirmApply(io: Io, autoApprove: boolean): Promise<void> {
  if (autoApprove) return;
  if (!io.stdinIsTTY) {
    throw new NotConfirmedError('apply needs a confirmation, and there is no terminal to ask on; nothing was changed', {
      hint: 'review the plan above and run again with --auto-approve, or save it with `plan --out plan.json` and run `apply plan.json` (a saved, reviewed plan needs no confirmation)',
    });
  }
  const answer = await io.readLine(`\n${CONFIRM_PROMPT}`);
  if (answer?.trim() !== 'yes') {
    throw new NotConfirmedError('apply cancelled: the answer was not "yes"; nothing was changed');
  }
}
