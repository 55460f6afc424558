/** Terraform-like text rendering of a plan. (Being implemented.) */
import type { Plan } from '../reconcile/plan';

export interface TextRenderOptions {
  /** ANSI colours; the caller decides (a TTY and no NO_COLOR). */
  readonly color: boolean;
}

/** Terraform-like text: `+` create, `~` change, `-` deactivate; ends with the `Plan: ...` or `No changes.` line. */
export function renderText(_plan: Plan, _opts: TextRenderOptions): string {
  throw new Error('renderText: not implemented yet');
}
