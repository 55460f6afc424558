/**
 * The action's comment upkeep against test/helpers/github-server over HTTP (Octokit from @actions/github):
 * a body past GitHub's 65,535-character limit becomes several marked parts, a later shorter plan updates the
 * first part and deletes the stale extra parts, and other people's comments are never touched.
 */
import { getOctokit } from '@actions/github';
import { GITHUB_BODY_LIMIT, PLAN_MARKER, splitComment, upsertMarkedComments } from '../../src/action/comments';
import { startGithubServer, type GithubServer } from '../helpers/github-server';

let gh: GithubServer;
const repo = { owner: 'acme', repo: 'keys' };

beforeAll(async () => {
  gh = await startGithubServer('acme', 'keys');
});
afterAll(() => gh.close());

describe('splitComment', () => {
  test('a body that fits is one comment: the marker, then the body', () => {
    expect(splitComment('## plan\n', PLAN_MARKER)).toEqual([`${PLAN_MARKER}\n## plan\n`]);
  });

  test('a body at exactly the limit stays whole; one character more splits it', () => {
    const fits = 'x'.repeat(GITHUB_BODY_LIMIT - PLAN_MARKER.length - 1);
    expect(splitComment(fits, PLAN_MARKER)).toHaveLength(1);
    expect(splitComment(`${fits}y`, PLAN_MARKER)).toHaveLength(2);
  });

  test('a 150,000-character body becomes marked parts under 65,535 characters each, cut at line breaks, nothing lost', () => {
    const lines = Array.from({ length: 3000 }, (_, i) => `- line ${i} ${'z'.repeat(40)}\n`).join('');
    const parts = splitComment(lines, PLAN_MARKER);
    expect(parts.length).toBe(3);
    for (const [i, p] of parts.entries()) {
      expect(p.length).toBeLessThanOrEqual(GITHUB_BODY_LIMIT);
      expect(p.startsWith(`${PLAN_MARKER}\n_scaleflex-keys plan, part ${i + 1} of 3_\n\n`)).toBe(true);
    }
    const rejoined = parts.map((p) => p.replace(/^<!-- scaleflex-keys:plan -->\n_scaleflex-keys plan, part \d of 3_\n\n/, '')).join('');
    expect(rejoined).toBe(lines);
    expect(parts.slice(0, -1).every((p) => p.endsWith('\n'))).toBe(true);
  });
});

describe('upsertMarkedComments', () => {
  test('creates the parts, then updates the first and deletes stale parts, leaving other comments alone', async () => {
    const octokit = getOctokit('ghs_test', { baseUrl: gh.url });
    gh.comments.push({ id: 1, issue: 5, body: 'LGTM' });
    const big = Array.from({ length: 3000 }, (_, i) => `- line ${i} ${'z'.repeat(40)}\n`).join('');
    await upsertMarkedComments(octokit, repo, 5, PLAN_MARKER, splitComment(big, PLAN_MARKER));
    expect(gh.comments.filter((c) => c.body.startsWith(PLAN_MARKER))).toHaveLength(3);

    gh.calls.length = 0;
    await upsertMarkedComments(octokit, repo, 5, PLAN_MARKER, splitComment('## small plan\n', PLAN_MARKER));
    expect(gh.calls.filter((c) => c.method !== 'GET').map((c) => c.method)).toEqual(['PATCH', 'DELETE', 'DELETE']);
    expect(gh.comments.map((c) => c.body)).toEqual(['LGTM', `${PLAN_MARKER}\n## small plan\n`]);
  });
});
