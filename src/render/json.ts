/** The JSON renderer: the plan's one stable document (the same text `plan --out` saves). */
import { planToJson } from '../reconcile/plan-file';
import type { Plan } from '../model';

/** The plan as its documented JSON (`schemas/plan.schema.json`): sorted keys, 2-space indent, trailing newline. */
export function renderJson(plan: Plan): string {
  return planToJson(plan);
}
