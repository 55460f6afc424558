/** Deceptive text from live keys is shown escaped in every format: invisible and bidi-control characters. */
import type { Plan } from '../../src/model';
import { buildPlan, planProject, planToJson } from '../../src/reconcile';
import { renderMarkdown, renderText } from '../../src/render';
import { ADMIN, entry, live, project } from './reconcile-fixtures';

/** A plan deactivating live keys whose descriptions hide characters (someone named them in the hub). */
function plan(): Plan {
  const keys = [ADMIN, live('z1', 'CI upl\u200Boader'), live('z2', 'evil \u202Etxt.exe'), live('z3', 'CI uploader')];
  return buildPlan([planProject({ desired: project([entry('CI uploader')]), live: keys, selfKey: ADMIN, apiUrl: 'http://x' })]);
}

test.each([
  ['text', () => renderText(plan(), { color: false })],
  ['markdown', () => renderMarkdown(plan())],
])('%s shows U+200B and U+202E as visible escapes, never as themselves', (_format, render) => {
  const out = render();
  expect(out).not.toMatch(/[\u200B\u202E]/);
  expect(out).toContain('u200B');
  expect(out).toContain('u202E');
});

test('json writes them as \\uXXXX escapes: the exact description to a parser, visible to a person', () => {
  const json = planToJson(plan());
  expect(json).not.toMatch(/[\u200B\u202E]/);
  expect(json).toContain('\\u200b');
  expect(JSON.parse(json).projects[0].changes.some((c: { before: { description: string } }) => c.before.description === 'CI upl\u200Boader')).toBe(true);
});
