/**
 * Policy rules, table-driven: every rule kind at each severity against keys that break it and keys that keep
 * it; the exit code each outcome calls for; parse errors at file:line:col; and the union of a policy file and
 * the manifest's `policy:`, which can add findings but never take one away.
 */
import { parseManifestText } from '../../src/manifest';
import { PolicyViolationError } from '../../src/errors';
import { exitCodeFor } from '../../src/cli/exit-codes';
import type { DesiredState, LiveKey } from '../../src/model';
import {
  combinePolicies,
  evaluatePolicy,
  findingDiagnostics,
  parsePolicyText,
  policyExitCode,
  type PolicyRule,
} from '../../src/policy';

const NOW = new Date('2026-12-01T00:00:00Z');
const lines = (...ls: string[]) => `${ls.join('\n')}\n`;

/** A manifest with the given policy lines and keys; keys start right after `keys:`. */
function manifest(policy: string[], keys: string[]): string {
  return lines('version: 1', ...(policy.length ? ['policy:', ...policy] : []), 'projects:', '  - token: demo', '    keys:', ...keys);
}

function load(text: string): { state: DesiredState; rules: readonly PolicyRule[] } {
  const result = parseManifestText(text, 'keys.yaml');
  expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return { state: result.state!, rules: parsePolicyText(text, 'keys.yaml', 'manifest') };
}

const KEYS = [
  '      - description: Deployer',
  '        permissions: [ACCESS_MANAGE, OBJECTS_LIST]',
  '        owner: "@platform"',
  '        justification: rotates the other keys',
  '      - description: uploader (temp)',
  '        permissions: [FILE_UPLOAD, FILE_DELETE, OBJECTS_LIST]',
  '      - description: Release 2026',
  '        permissions: [CONFIG_CHANGE]',
  '        owner: "@release"',
];

interface RuleCase {
  name: string;
  policy: string[];
  /** Descriptions of the keys expected to break the rule, in manifest order. */
  broken: string[];
  words: string[];
  live?: LiveKey[];
}

const cases: RuleCase[] = [
  { name: 'forbid reports keys holding a forbidden permission unless an except glob matches', policy: ['  - forbid: [ACCESS_MANAGE, CONFIG_CHANGE]', '    except: ["Release *"]'], broken: ['Deployer'], words: ['forbid [ACCESS_MANAGE, CONFIG_CHANGE]', 'holds ACCESS_MANAGE', '"Release *"'] },
  { name: 'forbid with an exact except leaves that key alone', policy: ['  - forbid: [ACCESS_MANAGE, CONFIG_CHANGE]', '    except: ["Deployer", "Release *"]'], broken: [], words: [] },
  { name: 'requireJustification risky uses the risk table', policy: ['  - requireJustification: risky'], broken: ['uploader (temp)', 'Release 2026'], words: ['requireJustification risky', 'no `justification`'] },
  { name: 'requireJustification with a list checks only those permissions', policy: ['  - requireJustification: [CONFIG_CHANGE]'], broken: ['Release 2026'], words: ['holds CONFIG_CHANGE'] },
  { name: 'requireOwner reports keys without an owner', policy: ['  - requireOwner: true'], broken: ['uploader (temp)'], words: ['requireOwner', 'no `owner`'] },
  { name: 'requireOwner false adds no rule', policy: ['  - requireOwner: false'], broken: [], words: [] },
  { name: 'maxPermissions reports keys over the limit', policy: ['  - maxPermissions: 2'], broken: ['uploader (temp)'], words: ['maxPermissions 2', '3 permissions'] },
  { name: 'descriptionPattern reports descriptions that do not match', policy: ['  - descriptionPattern: "^[A-Z][^()]*$"'], broken: ['uploader (temp)'], words: ['descriptionPattern', 'does not match'] },
  { name: 'maxAge without live keys reports nothing (validate)', policy: ['  - maxAge: 180d'], broken: [], words: [] },
  {
    name: 'maxAge reports active live keys older than the limit, anchored at their entry',
    policy: ['  - maxAge: 26w'],
    broken: ['Deployer'],
    words: ['maxAge 26w', 'created 700 days ago', 'rotate'],
    live: [
      { uuid: 'u1', description: 'Deployer', permissions: ['ACCESS_MANAGE', 'OBJECTS_LIST'], active: true, createdAt: new Date(NOW.getTime() - 700 * 86_400_000).toISOString(), secretPreview: '****0001' },
      { uuid: 'u2', description: 'Release 2026', permissions: ['CONFIG_CHANGE'], active: true, createdAt: new Date(NOW.getTime() - 10 * 86_400_000).toISOString(), secretPreview: '****0002' },
      { uuid: 'u3', description: 'old and off', permissions: ['OBJECTS_LIST'], active: false, createdAt: '2020-01-01T00:00:00Z', secretPreview: '****0003' },
    ],
  },
];

describe.each(['error', 'warning'] as const)('at severity %s', (severity) => {
  test.each(cases)('$name', ({ policy, broken, words, live }) => {
    const withSeverity = severity === 'error' ? policy : [...policy, '    severity: warning'];
    const { state, rules } = load(manifest(withSeverity, KEYS));
    const findings = evaluatePolicy(state, rules, { now: NOW, ...(live ? { live: new Map([['demo', live]]) } : {}) });
    expect(findings.map((f) => f.description)).toEqual(broken);
    for (const f of findings) {
      expect(f.severity).toBe(severity);
      expect(f.project).toBe('demo');
      for (const w of words) expect(f.message).toContain(w);
      // Anchored at the key entry's `- description:` line, and the rule's own line is related.
      const line = KEYS.findIndex((l) => l.includes(`description: ${f.description}`));
      expect(f.source).toMatchObject({ file: 'keys.yaml', line: 2 + withSeverity.length + 3 + line + 1, column: 9 });
      expect(f.ruleSource).toMatchObject({ file: 'keys.yaml', line: 3 });
    }
    // Errors refuse with exit code 4; warnings print and change nothing.
    expect(policyExitCode(findings)).toBe(findings.length > 0 && severity === 'error' ? 4 : 0);
    expect(findingDiagnostics(findings, 'keys.yaml').map((d) => d.severity)).toEqual(findings.map(() => severity));
  });
});

test('a PolicyViolationError exits with 4, never 2', () => {
  expect(exitCodeFor(new PolicyViolationError('policy broken'))).toBe(4);
});

interface BadPolicy {
  name: string;
  policy: string[];
  line: number;
  column: number;
  words: string[];
}

const bad: BadPolicy[] = [
  { name: 'two rule kinds in one entry', policy: ['  - requireOwner: true', '    maxPermissions: 3'], line: 3, column: 5, words: ['combines requireOwner and maxPermissions'] },
  { name: 'an entry with no rule kind', policy: ['  - severity: warning'], line: 3, column: 5, words: ['names no rule'] },
  { name: 'an unknown permission in forbid', policy: ['  - forbid: [ACCESS_MANAGE, FILE_UPLOD]'], line: 3, column: 29, words: ['"FILE_UPLOD" is not a Scaleflex permission'] },
  { name: 'except on another rule', policy: ['  - requireOwner: true', '    except: [x]'], line: 4, column: 13, words: ['`except` only applies to a `forbid` rule'] },
  { name: 'a regular expression that does not compile', policy: ['  - descriptionPattern: "^[A-Z"'], line: 3, column: 25, words: ['not a valid regular expression'] },
  { name: 'an age without a unit', policy: ['  - maxAge: 180'], line: 3, column: 13, words: ['`180d`, `26w`, `2y`'] },
  { name: 'a misspelt rule', policy: ['  - requireOwnr: true'], line: 3, column: 5, words: ['unknown policy field "requireOwnr"'] },
  { name: 'a bad severity', policy: ['  - requireOwner: true', '    severity: fatal'], line: 4, column: 15, words: ['severity must be `error` or `warning`'] },
];

test.each(bad)('validate reports $name at its line and column, and builds no state', ({ policy, line, column, words }) => {
  const result = parseManifestText(manifest(policy, KEYS), 'keys.yaml');
  expect(result.state).toBeUndefined();
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatchObject({ file: 'keys.yaml', line, column });
  for (const w of words) expect(errors[0]!.message).toContain(w);
  expect(() => parsePolicyText(manifest(policy, KEYS), 'keys.yaml', 'manifest')).toThrow(`keys.yaml:${line}:${column}`);
});

test('owner, purpose and justification reach the KeySpec and nothing else', () => {
  const { state } = load(manifest([], ['      - description: a', '        permissions: [OBJECTS_LIST]', '        owner: me', '        purpose: builds', '        justification: because']));
  expect(state.projects[0]!.keys[0]).toMatchObject({ owner: 'me', purpose: 'builds', justification: 'because' });
});

describe('a policy file and the manifest policy', () => {
  const fileRules = parsePolicyText(lines('policy:', '  - forbid: [ACCESS_MANAGE]'), 'org-policy.yaml', 'file');

  test('a manifest rule cannot relax a file rule: the union is evaluated and every file finding stays', () => {
    // The manifest tries to exempt everyone and downgrade the rule to a warning.
    const { state, rules } = load(manifest(['  - forbid: [ACCESS_MANAGE]', '    except: ["*"]', '    severity: warning', '  - requireOwner: true'], KEYS));
    const findings = evaluatePolicy(state, combinePolicies(fileRules, rules), { now: NOW });
    expect(findings.map((f) => [f.rule, f.severity, f.description])).toEqual([
      ['forbid', 'error', 'Deployer'],
      ['requireOwner', 'error', 'uploader (temp)'],
    ]);
    expect(findings[0]!.ruleSource).toMatchObject({ file: 'org-policy.yaml', line: 2, column: 5 });
    expect(policyExitCode(findings)).toBe(4);
  });

  test('a policy file holds only policy', () => {
    expect(() => parsePolicyText(lines('version: 1', 'policy: []'), 'p.yaml', 'file')).toThrow('p.yaml:1:1');
    expect(() => parsePolicyText(lines('rules: []'), 'p.yaml', 'file')).toThrow('a policy file holds only `policy:`');
  });
});
