/**
 * `scaleflex-keys show plan.json [--format text|markdown|json]`: renders a saved plan (`plan --out`) offline,
 * exactly as `plan` rendered it — no credentials, no network. It is how an apply job prints the plan it is about
 * to apply (log and job summary) from the very file that was reviewed.
 *
 * A plan file holds only planned projects, so guard refusals and unplanned projects (which `plan` shows next to
 * the plan) are not part of it; what `show` prints is the plan body.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { PlanFileError } from '../../errors';
import type { ShowFlags } from '../arguments/show';
import { EXIT } from '../exit-codes';
import type { Io } from '../io';
import { renderPlan } from '../output';
import { parsePlanFile } from '../../reconcile';

/** Runs `show`; resolves to 0, or throws PlanFileError (exit 1) for a missing or invalid plan file. */
export async function run(flags: ShowFlags, io: Io): Promise<number> {
  const file = flags.file;
  let text: string;
  try {
    text = readFileSync(path.resolve(io.cwd, file), 'utf8');
  } catch (error) {
    throw new PlanFileError(`cannot read the plan file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
      hint: 'Write plans with `scaleflex-keys plan --out plan.json`.',
    });
  }
  const plan = parsePlanFile(text, file);
  io.out(await renderPlan(plan, flags.format, io));
  return EXIT.OK;
}
