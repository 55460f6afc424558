/**
 * "Did you mean ...?" for the manifest validator: finds the valid name nearest to a misspelled one
 * (unknown fields, permissions, enum values, permission set names). Pure.
 */
import { distance } from 'fastest-levenshtein';

/**
 * The candidate closest to `input`, or undefined when none is close enough to be a plausible typo.
 * Case is ignored first (`file_upload` -> `FILE_UPLOAD`), then edit distance decides, allowing about
 * one edit per three characters so that unrelated names are not suggested.
 */
export function nearest(input: string, candidates: Iterable<string>): string | undefined {
  const folded = input.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    if (candidate === input) continue;
    const d = distance(folded, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  if (best === undefined) return undefined;
  const allowed = Math.max(1, Math.floor(Math.max(input.length, best.length) / 3));
  return bestDistance <= allowed ? best : undefined;
}

/** `; did you mean "X"?` when a near candidate exists, otherwise ''. */
export function didYouMean(input: string, candidates: Iterable<string>): string {
  const match = nearest(input, candidates);
  return match === undefined ? '' : `; did you mean "${match}"?`;
}
