/**
 * `action.yml` and the example workflows in examples/github/ are valid for GitHub (checked offline against
 * GitHub's action and workflow schemas by @action-validator/core), and the README's GitHub section shows them
 * byte for byte.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { validateAction, validateWorkflow } from '@action-validator/core';
import { ROOT } from '../helpers/cli';

const EXAMPLES = path.join(ROOT, 'examples', 'github');
const WORKFLOWS = fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.yml')).sort();

test('action.yml is a valid GitHub action', () => {
  expect(validateAction(fs.readFileSync(path.join(ROOT, 'action.yml'), 'utf8')).errors).toEqual([]);
});

test('there are plan, apply and drift example workflows', () => {
  expect(WORKFLOWS).toEqual(['apply.yml', 'drift.yml', 'plan.yml']);
});

test.each(WORKFLOWS)('examples/github/%s is a valid workflow with least-privilege permissions and the allow-list in env', (file) => {
  const text = fs.readFileSync(path.join(EXAMPLES, file), 'utf8');
  expect(validateWorkflow(text).errors).toEqual([]);
  expect(text).toMatch(/^permissions:\n  contents: read\n/m);
  expect(text).not.toMatch(/write-all|: write\n[\s\S]*: write\n[\s\S]*: write/);
  expect(text).toMatch(/^      SCALEFLEX_ALLOWED_API_URLS: /m);
});

test('the apply workflow serializes applies per repository and runs in a protected environment', () => {
  const text = fs.readFileSync(path.join(EXAMPLES, 'apply.yml'), 'utf8');
  expect(text).toContain('group: scaleflex-keys-apply-${{ github.repository }}\n  cancel-in-progress: false');
  expect(text).toMatch(/^    environment: \S+/m);
});

test.each(WORKFLOWS)('the README shows examples/github/%s verbatim', (file) => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('<!-- section:github -->'), readme.indexOf('<!-- /section:github -->'));
  const m = section.match(new RegExp(`\`examples/github/${file.replace('.', '\\.')}\`:\\n\\n\`\`\`yaml\\n([\\s\\S]*?)\`\`\`\\n`));
  expect(m?.[1]).toBe(fs.readFileSync(path.join(EXAMPLES, file), 'utf8'));
});
