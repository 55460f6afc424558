/** A plan that left projects out (they failed to plan) never claims the live keys match the manifest. */
import { buildPlan, planProject } from '../../src/reconcile';
import { renderMarkdown, renderText } from '../../src/render';
import { ADMIN, entry, live, project } from './reconcile-fixtures';

const unchanged = buildPlan([
  planProject({ desired: project([entry('kept')]), live: [ADMIN, live('u-1', 'kept')], selfKey: ADMIN, apiUrl: 'http://x' }),
]);
const changed = buildPlan([planProject({ desired: project([entry('new')]), live: [ADMIN], selfKey: ADMIN, apiUrl: 'http://x' })]);

test.each([
  { name: 'text, no changes, every project planned', out: renderText(unchanged, { color: false }), says: 'No changes. Live keys match the manifest.', not: 'could not be planned' },
  {
    name: 'text, no changes, one project not planned',
    out: renderText(unchanged, { color: false, unplanned: ['other'] }),
    says: '1 project could not be planned and is not shown: other.\nNo changes in the projects that could be planned.',
    not: 'Live keys match',
  },
  {
    name: 'text, changes, two projects not planned',
    out: renderText(changed, { color: false, unplanned: ['a', 'b'] }),
    says: '2 projects could not be planned and are not shown: a, b.\nPlan: 1 to create, 0 to change, 0 to deactivate.',
    not: 'Live keys match',
  },
  {
    name: 'markdown, no changes, one project not planned',
    out: renderMarkdown(unchanged, { unplanned: ['other'] }),
    says: '> [!CAUTION]\n> 1 project could not be planned and is not shown: `other`. See the job log for why.',
    not: 'Live keys match',
  },
  { name: 'markdown, no changes, every project planned', out: renderMarkdown(unchanged), says: '**No changes.** Live keys match the manifest.', not: 'CAUTION' },
])('$name', ({ out, says, not }) => {
  expect(out).toContain(says);
  expect(out).not.toContain(not);
});
