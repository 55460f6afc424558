/** Markdown rendering of a plan for a GitHub pull-request comment. (Being implemented.) */
import type { Plan } from '../reconcile/plan';

/** A PR comment: summary table, one section per project, permission diffs with risky grants flagged. */
export function renderMarkdown(_plan: Plan): string {
  throw new Error('renderMarkdown: not implemented yet');
}
