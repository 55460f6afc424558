/**
 * The GitHub side of the action, kept small and testable: splitting a Markdown body into comments under GitHub's
 * 65,535-character limit, and keeping ONE marked pull-request comment (or a few marked parts) and ONE marked
 * drift issue up to date through the REST API (`@actions/github`'s Octokit).
 */
import type { getOctokit } from '@actions/github';

type Octokit = ReturnType<typeof getOctokit>;

/** GitHub refuses a comment or issue body longer than this many characters. */
export const GITHUB_BODY_LIMIT = 65_535;

/** The hidden marker that identifies the plan comment(s) of this action on a pull request. */
export const PLAN_MARKER = '<!-- scaleflex-keys:plan -->';
/** The hidden marker that identifies the drift issue. */
export const DRIFT_MARKER = '<!-- scaleflex-keys:drift -->';

/**
 * Splits `body` into bodies of at most `limit` characters, each starting with `marker` (and, when there are
 * several, a "part i of n" line), cut at line breaks where possible. One body when it fits.
 */
export function splitComment(body: string, marker: string, limit = GITHUB_BODY_LIMIT): string[] {
  const single = `${marker}\n${body}`;
  if (single.length <= limit) return [single];
  const header = (i: number, n: number) => `${marker}\n_scaleflex-keys plan, part ${i} of ${n}_\n\n`;
  const room = limit - header(999, 999).length;
  const chunks: string[] = [];
  let rest = body;
  while (rest.length > 0) {
    // Cut after the last line break that fits, so that no Markdown line is split; a single huge line is cut hard.
    let cut = rest.length <= room ? rest.length : rest.lastIndexOf('\n', room - 1) + 1;
    if (cut <= 0) cut = room;
    chunks.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  return chunks.map((c, i) => header(i + 1, chunks.length) + c);
}

export interface Repo {
  readonly owner: string;
  readonly repo: string;
}

/**
 * Creates or updates the marked comments of pull request `issueNumber` so that they hold `parts`, in order:
 * existing marked comments are updated in place (oldest first), missing ones created, and stale extra parts
 * from an earlier, longer plan deleted.
 */
export async function upsertMarkedComments(octokit: Octokit, repo: Repo, issueNumber: number, marker: string, parts: readonly string[]): Promise<void> {
  const all = await octokit.paginate(octokit.rest.issues.listComments, { ...repo, issue_number: issueNumber, per_page: 100 });
  const ours = all.filter((c) => (c.body ?? '').startsWith(marker)).sort((a, b) => a.id - b.id);
  for (let i = 0; i < parts.length; i++) {
    const existing = ours[i];
    if (existing === undefined) await octokit.rest.issues.createComment({ ...repo, issue_number: issueNumber, body: parts[i]! });
    else if (existing.body !== parts[i]) await octokit.rest.issues.updateComment({ ...repo, comment_id: existing.id, body: parts[i]! });
  }
  for (const stale of ours.slice(parts.length)) await octokit.rest.issues.deleteComment({ ...repo, comment_id: stale.id });
}

/** The open drift issue (marker in its body), if any. */
async function findDriftIssue(octokit: Octokit, repo: Repo): Promise<{ number: number; body?: string | null } | undefined> {
  const open = await octokit.paginate(octokit.rest.issues.listForRepo, { ...repo, state: 'open', per_page: 100 });
  return open.find((i) => !i.pull_request && (i.body ?? '').includes(DRIFT_MARKER));
}

/** Opens the drift issue with `body`, or updates the open one; resolves to its number. */
export async function openOrUpdateDriftIssue(octokit: Octokit, repo: Repo, title: string, body: string): Promise<number> {
  const full = splitComment(body, DRIFT_MARKER)[0]!;
  const existing = await findDriftIssue(octokit, repo);
  if (existing === undefined) return (await octokit.rest.issues.create({ ...repo, title, body: full })).data.number;
  if (existing.body !== full) await octokit.rest.issues.update({ ...repo, issue_number: existing.number, title, body: full });
  return existing.number;
}

/** Closes the open drift issue, if there is one, with a note; resolves to its number. */
export async function closeDriftIssue(octokit: Octokit, repo: Repo, note: string): Promise<number | undefined> {
  const existing = await findDriftIssue(octokit, repo);
  if (existing === undefined) return undefined;
  await octokit.rest.issues.createComment({ ...repo, issue_number: existing.number, body: note });
  await octokit.rest.issues.update({ ...repo, issue_number: existing.number, state: 'closed', state_reason: 'completed' });
  return existing.number;
}
