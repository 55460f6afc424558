/**
 * Golden files for the three renderers (test/golden/<case>.{txt,color.txt,md,json}). To accept an intended
 * change of output, run `UPDATE_GOLDEN=1 npx jest test/unit/render-golden.test.ts` and review the diff.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { KeySpec, LiveKey, UnmanagedPolicy } from '../../src/model';
import { type Plan, type ProjectPlan, DEFAULT_GUARD_OPTIONS, buildPlan, checkGuards, parsePlanFile, planProject } from '../../src/reconcile';
import { renderJson, renderMarkdown, renderText } from '../../src/render';
import { ADMIN, entry, live } from './reconcile-fixtures';

const GOLDEN = path.join(__dirname, '..', 'golden');

function projectPlan(token: string, keys: KeySpec[], liveKeys: LiveKey[], unmanaged: UnmanagedPolicy = 'deactivate'): ProjectPlan {
  return planProject({
    desired: { token, unmanaged, keys },
    live: [ADMIN, ...liveKeys],
    selfKey: ADMIN,
    apiUrl: 'https://api.filerobot.com',
  });
}

const at = (n: number) => `2025-0${1 + (n % 9)}-1${n % 10}T08:00:00.000Z`;

/** Every change kind, a tricky description, and the own key getting an allowed change. */
function everyKind(): Plan {
  return buildPlan([
    projectPlan(
      'demo',
      [
        entry('CI uploader', ['FILE_UPLOAD', 'OBJECTS_LIST'], {
          deliver: [{ exec: ['gh', 'secret', 'set', '{name}', '--env', 'production'] }, { file: 'secrets/demo.env' }],
        }),
        entry('Key admin bot', ['ACCESS_MANAGE', 'ACCESS_READ']),
        entry('Parked', ['OBJECTS_LIST'], { active: false }),
        entry('Website', ['OBJECTS_FETCH', 'OBJECTS_LIST'], { formerDescriptions: ['Web site'] }),
        entry('Cleanup job', ['FILE_DELETE', 'OBJECTS_LIST']),
        entry('Renamed and permissioned', ['DIR_CREATE', 'FILE_UPLOAD', 'OBJECTS_LIST'], { formerDescriptions: ['Old importer'] }),
        entry('Back from holiday', ['OBJECTS_LIST']),
        entry('Renamed and revived', ['OBJECTS_LIST'], { formerDescriptions: ['Dormant'] }),
        entry('Retired', ['OBJECTS_LIST'], { active: false }),
        entry('Renamed then retired', ['OBJECTS_LIST'], { active: false, formerDescriptions: ['Soon retired'] }),
        entry('Weird | <b>name</b> `tick` @octocat *x* [l](u) # _y_', ['LABELS_LIST']),
        entry('bootstrap admin', ['ACCESS_MANAGE', 'ACCESS_READ', 'CONFIG_LIST', 'OBJECTS_LIST']),
      ],
      [
        live('11111111-0000-4000-8000-000000000001', 'Web site', ['OBJECTS_LIST'], true, at(1)),
        live('11111111-0000-4000-8000-000000000002', 'Cleanup job', ['OBJECTS_LIST'], true, at(2)),
        live('11111111-0000-4000-8000-000000000003', 'Old importer', ['FILE_DELETE', 'OBJECTS_LIST'], true, at(3)),
        live('11111111-0000-4000-8000-000000000004', 'Back from holiday', ['OBJECTS_LIST'], false, at(4)),
        live('11111111-0000-4000-8000-000000000005', 'Dormant', ['OBJECTS_LIST'], false, at(5)),
        live('11111111-0000-4000-8000-000000000006', 'Retired', ['OBJECTS_LIST'], true, at(6)),
        live('11111111-0000-4000-8000-000000000007', 'Soon retired', ['OBJECTS_LIST'], true, at(7)),
        live('11111111-0000-4000-8000-000000000008', 'Legacy <script>', ['FILE_UPLOAD'], true, at(8)),
        live('11111111-0000-4000-8000-000000000009', 'Already off', ['FILE_UPLOAD'], false, at(9)),
      ],
    ),
  ]);
}

/** Three projects, one without changes, one under `unmanaged: ignore`. */
function multiProject(): Plan {
  return buildPlan([
    projectPlan('zeta-shop', [entry('Storefront', ['OBJECTS_FETCH'])], [live('22222222-0000-4000-8000-000000000001', 'Storefront', ['OBJECTS_FETCH'], true, at(1))]),
    projectPlan(
      'alpha-media',
      [entry('Uploader', ['FILE_UPLOAD'])],
      [live('22222222-0000-4000-8000-000000000002', 'Stray', ['OBJECTS_LIST'], true, at(2))],
    ),
    projectPlan(
      'beta-docs',
      [entry('Reader', ['OBJECTS_LIST', 'OBJECTS_FETCH'])],
      [
        live('22222222-0000-4000-8000-000000000003', 'Reader', ['OBJECTS_LIST'], true, at(3)),
        live('22222222-0000-4000-8000-000000000004', 'Ignored stray', ['OBJECTS_LIST'], true, at(4)),
      ],
      'ignore',
    ),
  ]);
}

/** Every rotation and expiry kind: a due rotation, a retiring key past its deadline (rotated), an expired key. */
function lifecycle(): Plan {
  const rotate = { everyMs: 90 * 86_400_000, overlapMs: 7 * 86_400_000, every: '90d', overlap: '7d' };
  return buildPlan([
    planProject({
      desired: {
        token: 'demo',
        unmanaged: 'deactivate',
        keys: [
          entry('CI uploader', ['FILE_UPLOAD', 'OBJECTS_LIST'], { rotate }),
          entry('Nightly export', ['OBJECTS_FETCH', 'OBJECTS_LIST'], { rotate }),
          entry('Contractor', ['OBJECTS_LIST'], { expires: '2026-12-01T00:00:00.000Z' }),
        ],
      },
      live: [
        ADMIN,
        live('55555555-0000-4000-8000-000000000001', 'CI uploader', ['FILE_UPLOAD', 'OBJECTS_LIST'], true, '2026-06-01T08:00:00.000Z'),
        live('55555555-0000-4000-8000-000000000002', 'Nightly export (rotated 2026-11-20, off after 2026-11-27)', ['OBJECTS_FETCH', 'OBJECTS_LIST'], true, '2026-08-01T08:00:00.000Z'),
        live('55555555-0000-4000-8000-000000000003', 'Nightly export', ['OBJECTS_FETCH', 'OBJECTS_LIST'], true, '2026-11-20T08:00:00.000Z'),
        live('55555555-0000-4000-8000-000000000004', 'Contractor', ['OBJECTS_LIST'], true, '2026-10-01T08:00:00.000Z'),
      ],
      selfKey: ADMIN,
      apiUrl: 'https://api.filerobot.com',
      now: new Date('2026-12-10T12:00:00Z'),
    }),
  ]);
}

function noChanges(): Plan {
  return buildPlan([
    projectPlan('demo', [entry('Reader')], [live('33333333-0000-4000-8000-000000000001', 'Reader', ['OBJECTS_LIST'], true, at(1))]),
    projectPlan('other', [], []),
  ]);
}

/** Enough keys to fold the Markdown section, and enough deactivations to trip the mass guard. */
function bigWithRefusals(): { plan: Plan; project: ProjectPlan } {
  const stale = Array.from({ length: 20 }, (_, i) =>
    live(`44444444-0000-4000-8000-0000000000${String(i).padStart(2, '0')}`, `Old key ${String(i).padStart(2, '0')}`, ['OBJECTS_LIST'], true, at(i)),
  );
  const project = projectPlan('big', [entry('bootstrap admin', ['ACCESS_READ', 'OBJECTS_LIST'])], stale);
  return { plan: buildPlan([project]), project };
}

const cases: { name: string; plan: () => Plan; refusals?: boolean }[] = [
  { name: 'every-kind', plan: everyKind },
  { name: 'multi-project', plan: multiProject },
  { name: 'no-changes', plan: noChanges },
  { name: 'rotation-expiry', plan: lifecycle },
  { name: 'refused-and-folded', plan: () => bigWithRefusals().plan, refusals: true },
];

function golden(file: string, actual: string): void {
  const full = path.join(GOLDEN, file);
  if (process.env.UPDATE_GOLDEN === '1') fs.writeFileSync(full, actual);
  if (!fs.existsSync(full)) throw new Error(`missing golden file ${file}; run with UPDATE_GOLDEN=1 to create it`);
  expect(actual).toBe(fs.readFileSync(full, 'utf8'));
}

describe.each(cases)('golden renderings of the $name plan', ({ name, plan, refusals }) => {
  const p = plan();
  const violations = refusals ? p.projects.flatMap((x) => checkGuards(x, DEFAULT_GUARD_OPTIONS)) : [];

  test('the text rendering matches its golden file', () => {
    golden(`${name}.txt`, renderText(p, { color: false, violations }));
  });
  test('the coloured text rendering matches its golden file', () => {
    golden(`${name}.color.txt`, renderText(p, { color: true, violations }));
  });
  test('the Markdown rendering matches its golden file', () => {
    golden(`${name}.md`, renderMarkdown(p, { violations }));
  });
  test('the JSON rendering matches its golden file and parses back to the same plan', () => {
    const json = renderJson(p);
    golden(`${name}.json`, json);
    expect(parsePlanFile(json, `${name}.json`)).toEqual(p);
  });
  test('without colour there is no escape character at all', () => {
    expect(renderText(p, { color: false, violations })).not.toContain('\u001b');
  });
});

test('the refused plan really has both guard refusals', () => {
  const { project } = bigWithRefusals();
  expect(checkGuards(project, DEFAULT_GUARD_OPTIONS).map((v) => v.guard)).toEqual(['self-lockout', 'mass-deactivation']);
});
