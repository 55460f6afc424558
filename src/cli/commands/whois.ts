/**
 * `scaleflex-keys whois [--project T]... [-f FILE] [--quarantine] [--format text|json] < secret`: which key is this
 * leaked secret? Reads the secret from stdin (a terminal only with `--prompt`, without echo), lists each project's
 * keys, fetches the secrets of only those whose masked preview fits (`narrowCandidates`), compares in constant time,
 * and prints the key found with what the manifest says about it — never a secret. `--quarantine` deactivates it at
 * once through the reconciler (one pinned, inactive entry; the guards decide) and prints the manifest edit that keeps
 * the next plan from reactivating it. The pure parts live in `src/reconcile/whois.ts`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runBounded } from '../../bounded';
import { BULK_STATUS_MAX } from '../../contract';
import { UsageError } from '../../errors';
import { DEFAULT_GUARD_OPTIONS, type KeySpec, type LiveKey, type ProjectSpec } from '../../model';
import { secrets } from '../../redact';
import {
  type Declaration,
  declarationOf,
  manifestEdit,
  type ManifestEdit,
  narrowCandidates,
  parseSecretInput,
  quarantineSpec,
  sameSecret,
  secretSource,
  whereDeclared,
} from '../../reconcile/whois';
import { DEFAULT_MANIFEST } from '../arguments/common';
import type { WhoisFlags } from '../arguments/whois';
import { loadProjects } from '../desired';
import { EXIT } from '../exit-codes';
import type { Io } from '../io';
import { projectErrorLines } from '../output';
import { processSecretInput, promptHidden, readAllStdin, type SecretInput } from '../secret-input';
import { type Access, ApiSession, listAll, type OpenedApi, type ProjectRef, trustFor } from '../session';
import { applyProjectPlan, checkGuards, planProject } from '../../reconcile';

/** Reading secrets needs ACCESS_MANAGE (the API's and the emulator's rule for `GET /keys/{uuid}/secret`). */
export const MANAGE_FOR_WHOIS: Access = { access: 'manage', purpose: 'whois' };

/** One project to look in: the manifest's project, or a bare `--project` token the manifest does not declare. */
interface Target {
  readonly ref: ProjectRef;
  readonly spec?: ProjectSpec;
}

/** What `--quarantine` did to one key. */
interface Quarantine {
  readonly result: 'deactivated' | 'already-inactive' | 'refused' | 'failed';
  readonly messages: readonly string[];
  readonly edit: ManifestEdit;
}

interface Match {
  readonly project: string;
  readonly key: LiveKey;
  readonly declaration: Declaration;
  /** The credential the tool runs with for this project is this key: where it came from. */
  readonly selfSource?: string;
  readonly quarantine?: Quarantine;
}

interface ProjectResult {
  readonly keys: number;
  readonly candidates: number;
  readonly fetched: number;
  readonly matches: readonly Match[];
  readonly error?: unknown;
}

export function run(flags: WhoisFlags, io: Io): Promise<number> {
  return runWith(flags, io, processSecretInput());
}

/** The projects to look in and the manifest they come from; nothing is read from stdin or sent before this. */
function targetsFor(flags: WhoisFlags, io: Io): { targets: Target[]; baseDir: string; manifest?: string } {
  const named = flags.file !== undefined || flags.fromCdktf !== undefined;
  const manifest = named ? (flags.fromCdktf ?? flags.file)! : fs.existsSync(path.resolve(io.cwd, DEFAULT_MANIFEST)) ? DEFAULT_MANIFEST : undefined;
  const loaded = manifest !== undefined ? loadProjects({ ...flags, project: [] }, io, trustFor(flags, io)) : undefined;
  const declared = loaded?.state.projects ?? [];
  const tokens = flags.project.length > 0 ? [...new Set(flags.project)] : declared.map((p) => p.token);
  if (tokens.length === 0) {
    throw new UsageError(
      manifest === undefined ? `no project to look in: no --project, and no manifest (${DEFAULT_MANIFEST} is not here)` : `no project to look in: ${manifest} declares none`,
      { hint: 'name the projects with --project (repeatable), or give the manifest with -f' },
    );
  }
  const targets = tokens.map((token): Target => {
    const spec = declared.find((p) => p.token === token);
    return spec ? { ref: spec, spec } : { ref: { token } };
  });
  return { targets, baseDir: loaded?.baseDir ?? io.cwd, ...(manifest !== undefined ? { manifest } : {}) };
}

/** The suspected secret, from stdin or the hidden prompt; registered with the redactor before anything else. */
async function readSuspect(flags: WhoisFlags, io: Io, input: SecretInput): Promise<string> {
  const source = secretSource(io.stdinIsTTY, flags.prompt);
  if (source.kind === 'refuse') throw new UsageError(source.message, { hint: source.hint });
  const text = source.kind === 'prompt' ? await promptHidden(input, 'Suspected secret (not echoed): ') : await readAllStdin(input);
  const parsed = parseSecretInput(text);
  if ('problem' in parsed) throw new UsageError(parsed.problem, { hint: 'pipe exactly one secret, on one line: `scaleflex-keys whois < leaked.txt`' });
  secrets.add(parsed.secret);
  return parsed.secret;
}

/** Deactivates `key` through the reconciler and the guards; never throws. */
async function quarantine(api: OpenedApi, apiUrl: string, target: Target, key: LiveKey, declaration: Declaration, live: readonly LiveKey[], parallelism: number): Promise<Quarantine> {
  const token = target.ref.token;
  const edit = manifestEdit(token, key, declaration);
  try {
    const full = planProject({ desired: quarantineSpec(token, key, declaration), live, selfKey: api.selfKey, apiUrl });
    const plan = { ...full, changes: full.changes.filter((c) => c.kind === 'deactivate' && c.uuid === key.uuid) };
    if (plan.changes.length === 0) return { result: 'already-inactive', messages: [], edit };
    const violations = checkGuards(plan, { ...DEFAULT_GUARD_OPTIONS, selfUuid: api.selfKey.uuid }, live);
    if (violations.length > 0) return { result: 'refused', messages: violations.map((v) => v.message), edit };
    const applied = await applyProjectPlan(api, plan, { bulkMax: BULK_STATUS_MAX, parallelism, live, onEvent: () => undefined, onSecret: () => undefined });
    if (applied.failed) return { result: 'failed', messages: [projectErrorLines(token, applied.failed.error).trimEnd()], edit };
    return { result: 'deactivated', messages: [], edit };
  } catch (error) {
    return { result: 'failed', messages: [projectErrorLines(token, error).trimEnd()], edit };
  }
}

/** Looks for the secret among one project's keys. */
async function searchProject(session: ApiSession, target: Target, suspect: string, flags: WhoisFlags): Promise<ProjectResult> {
  const resolved = session.resolve(target.ref);
  const api = await session.open(target.ref, resolved, MANAGE_FOR_WHOIS);
  const live = await listAll(api);
  const { candidates } = narrowCandidates(suspect, live);
  // Only the candidates' secrets leave the API; every one is masked in output from the moment it arrives.
  const settled = await runBounded(candidates, flags.parallelism, async (key) => {
    const secret = await api.getSecret(key.uuid);
    secrets.add(secret);
    return secret;
  });
  const found: LiveKey[] = [];
  let error: unknown;
  settled.forEach((s, i) => {
    if (s.status === 'rejected') error ??= s.reason;
    else if (sameSecret(suspect, s.value)) found.push(candidates[i]!);
  });
  const matches: Match[] = [];
  for (const key of found) {
    const declaration = declarationOf(target.spec, live, key);
    const selfSource = key.uuid === api.selfKey.uuid ? resolved.source : undefined;
    const q = flags.quarantine ? await quarantine(api, resolved.apiUrl, target, key, declaration, live, flags.parallelism) : undefined;
    matches.push({ project: target.ref.token, key, declaration, ...(selfSource !== undefined ? { selfSource } : {}), ...(q ? { quarantine: q } : {}) });
  }
  return { keys: live.length, candidates: candidates.length, fetched: settled.filter((s) => s.status === 'fulfilled').length, matches, ...(error !== undefined ? { error } : {}) };
}

export async function runWith(flags: WhoisFlags, io: Io, input: SecretInput): Promise<number> {
  const { targets, baseDir, manifest } = targetsFor(flags, io);
  const suspect = await readSuspect(flags, io, input);
  const session = await ApiSession.start(io, flags, targets.map((t) => t.ref.token), baseDir);
  let results: ProjectResult[];
  try {
    const settled = await runBounded(targets, flags.parallelism, (t) => searchProject(session, t, suspect, flags));
    results = settled.map((s) => (s.status === 'fulfilled' ? s.value : { keys: 0, candidates: 0, fetched: 0, matches: [], error: s.reason }));
  } finally {
    await session.close();
  }

  const matches = results.flatMap((r) => r.matches);
  const errors = results.flatMap((r, i) => (r.error !== undefined ? [{ project: targets[i]!.ref.token, error: r.error }] : []));
  const checked = {
    projects: results.filter((r) => r.error === undefined).length,
    keys: results.reduce((n, r) => n + r.keys, 0),
    candidates: results.reduce((n, r) => n + r.candidates, 0),
    secrets_fetched: results.reduce((n, r) => n + r.fetched, 0),
  };
  for (const e of errors) io.err(projectErrorLines(e.project, e.error));
  if (flags.format === 'json') io.out(`${JSON.stringify(toJson(matches, checked, errors, manifest), null, 2)}\n`);
  else io.out(renderText(matches, checked, errors.map((e) => e.project), targets.length, manifest !== undefined));

  if (matches.length === 0) return EXIT.ERROR;
  const outcomes = matches.map((m) => m.quarantine?.result);
  if (outcomes.includes('refused')) return EXIT.GUARD;
  if (outcomes.includes('failed')) return EXIT.ERROR;
  return EXIT.OK;
}

type Checked = { projects: number; keys: number; candidates: number; secrets_fetched: number };

/** One line on what the manifest says. */
function describeDeclaration(project: string, d: Declaration, manifest: boolean): string {
  switch (d.kind) {
    case 'declared': {
      const where = whereDeclared(d.entry);
      const flags = [d.entry.active ? '' : 'active: false', d.entry.protected ? 'protected: true' : ''].filter(Boolean).join(', ');
      return `declared by the entry ${JSON.stringify(d.entry.description)}${where ? ` at ${where}` : ''}${flags ? ` (${flags})` : ''}`;
    }
    case 'twin':
      return `a newer duplicate of the declared key ${d.kept.uuid} (entry ${JSON.stringify(d.entry.description)}); plans retire it`;
    case 'ambiguous': {
      const where = whereDeclared(d.entry);
      return `ambiguous: the entry ${JSON.stringify(d.entry.description)}${where ? ` at ${where}` : ''} matches it and other live keys`;
    }
    case 'undeclared':
      return `not declared (project ${project} has unmanaged: ${d.unmanaged})`;
    case 'no-manifest':
      return manifest ? `the manifest does not declare project ${project}` : 'unknown: no manifest was read';
  }
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function renderText(matches: readonly Match[], checked: Checked, failed: readonly string[], projectCount: number, manifest: boolean): string {
  const lines: string[] = [];
  for (const m of matches) {
    const k = m.key;
    lines.push(`Found: the secret is key ${JSON.stringify(k.description)} of project ${m.project}.`);
    const rows: [string, string][] = [
      ['project', m.project],
      ['uuid', k.uuid],
      ['description', JSON.stringify(k.description)],
      ['permissions', k.permissions.length ? [...k.permissions].sort().join(', ') : '(none)'],
      ['active', String(k.active)],
      ['created_at', k.createdAt],
      ['preview', k.secretPreview],
      ['manifest', describeDeclaration(m.project, m.declaration, manifest)],
    ];
    if (m.selfSource !== undefined) rows.push(['note', `this is the key scaleflex-keys runs with for project ${m.project} (${m.selfSource})`]);
    for (const [name, value] of rows) lines.push(`  ${name.padEnd(12)} ${value}`);
    const q = m.quarantine;
    if (q) {
      lines.push('');
      if (q.result === 'deactivated') lines.push(`Quarantine: deactivated key ${k.uuid} of project ${m.project}.`);
      else if (q.result === 'already-inactive') lines.push(`Quarantine: the key is already inactive; nothing was changed.`);
      else if (q.result === 'refused') lines.push('Quarantine refused: nothing was changed.', ...q.messages.map((s) => `  ${s}`));
      else lines.push('Quarantine failed:', ...q.messages.map((s) => `  ${s}`));
      if (q.result !== 'refused') {
        const e = q.edit;
        lines.push(`Manifest edit${e.needed ? '' : ' (none needed)'}: ${e.at ? `${e.at}: ` : ''}${e.summary}`);
        if (e.snippet) lines.push(...e.snippet.trimEnd().split('\n'));
      }
    }
    lines.push('');
  }
  if (matches.length === 0) {
    const where = failed.length ? ` (not checked: ${failed.join(', ')}, see the errors above)` : '';
    lines.push(`Not found: no key of the ${plural(projectCount - failed.length, 'project')} checked holds this secret${where}.`);
  }
  const scope = `Checked ${plural(checked.keys, 'key')} in ${plural(checked.projects, 'project')}`;
  lines.push(
    checked.candidates === 0
      ? `${scope}: no masked preview fit, so no secret was fetched.`
      : `${scope}: ${plural(checked.candidates, 'candidate')} fit the masked preview, and only ${checked.secrets_fetched === 1 ? 'its secret was' : 'their secrets were'} fetched (${plural(checked.secrets_fetched, 'secret')}).`,
  );
  return `${lines.join('\n')}\n`;
}

function toJson(matches: readonly Match[], checked: Checked, errors: readonly { project: string; error: unknown }[], manifest: string | undefined): unknown {
  return {
    found: matches.length > 0,
    matches: matches.map((m) => ({
      project: m.project,
      uuid: m.key.uuid,
      description: m.key.description,
      permissions: [...m.key.permissions].sort(),
      active: m.key.active,
      created_at: m.key.createdAt,
      secret_preview: m.key.secretPreview,
      is_tool_key: m.selfSource !== undefined,
      manifest: declarationJson(m.declaration, manifest),
      ...(m.quarantine
        ? {
            quarantine: {
              result: m.quarantine.result,
              messages: m.quarantine.messages,
              manifest_edit: {
                needed: m.quarantine.edit.needed,
                ...(m.quarantine.edit.at ? { at: m.quarantine.edit.at } : {}),
                summary: m.quarantine.edit.summary,
                ...(m.quarantine.edit.snippet ? { snippet: m.quarantine.edit.snippet } : {}),
              },
            },
          }
        : {}),
    })),
    checked,
    errors: errors.map((e) => ({ project: e.project, message: (e.error as Error)?.message ?? String(e.error) })),
  };
}

function declarationJson(d: Declaration, manifest: string | undefined): Record<string, unknown> {
  const entry = (e: KeySpec) => {
    const at = whereDeclared(e);
    return { entry: e.description, ...(at ? { at } : {}) };
  };
  switch (d.kind) {
    case 'declared':
      return { status: 'declared', ...entry(d.entry), entry_active: d.entry.active, protected: d.entry.protected === true };
    case 'twin':
      return { status: 'duplicate', ...entry(d.entry), kept_uuid: d.kept.uuid };
    case 'ambiguous':
      return { status: 'ambiguous', ...entry(d.entry) };
    case 'undeclared':
      return { status: 'undeclared', unmanaged: d.unmanaged };
    case 'no-manifest':
      return { status: manifest ? 'project-not-in-manifest' : 'no-manifest' };
  }
}
