/**
 * `import`'s core: turns the live keys of one or more projects into manifest v1 YAML text (pure, no I/O).
 * The result is sorted, commented with each key's uuid and creation date, carries no secret, validates, and
 * plans empty against the same live keys — the first step of adopting an existing project (peribolos
 * `--dump`, `octodns-dump`). `mergeImport` edits an existing manifest in place instead (`import --merge`):
 * the imported projects are added or brought in line with the live keys, everything else is left as written.
 */
import { Document, isMap, isSeq, parseDocument, type YAMLMap, type YAMLSeq } from 'yaml';
import type { LiveKey } from '../model';
import { canonicalPermissions } from '../permissions';

/** One project's live keys, as listed through the API. */
export interface ImportedProject {
  readonly token: string;
  readonly keys: readonly LiveKey[];
  /** The uuid of the admin key the import ran with, noted in a comment (it must stay declared and active). */
  readonly selfUuid?: string;
}

/**
 * Where the schema is for a consumer that installed the package (`npm install -D scaleflex-keys`), relative to
 * the manifest's directory; the schema is self-contained, so editors resolve it from there.
 */
export const DEFAULT_SCHEMA_REF = './node_modules/scaleflex-keys/schemas/scaleflex-keys.schema.json';

export interface ImportOptions {
  /** The `$schema` reference written in the yaml-language-server modeline (default DEFAULT_SCHEMA_REF). */
  readonly schemaRef?: string;
}

/** Longest description the manifest (and the API) accepts. */
const MAX_DESCRIPTION = 255;

/** Why a live key cannot be written as a manifest entry, or undefined when it can. */
function unrepresentable(key: LiveKey): string | undefined {
  if (key.permissions.length === 0) return 'it has no permissions, and a manifest entry needs at least one';
  if (key.description !== key.description.trim()) return 'its description has leading or trailing whitespace';
  if (key.description.length === 0 || key.description.length > MAX_DESCRIPTION) {
    return `its description is not 1-${MAX_DESCRIPTION} characters long`;
  }
  return undefined;
}

function byDescription(a: LiveKey, b: LiveKey): number {
  const x = a.description < b.description ? -1 : a.description > b.description ? 1 : 0;
  return x || (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0) || (a.uuid < b.uuid ? -1 : 1);
}

/** Comment text is one line; a description with a newline must not break out of it. */
function oneLine(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}

/**
 * Builds the manifest text for `projects` (sorted by token; keys sorted by description, then creation date,
 * then uuid). Keys whose description another live key of the project shares are pinned with `uuid:`.
 * Keys a manifest cannot express (no permissions, untrimmed description) are listed in comments and the
 * project gets `unmanaged: ignore` when any of them is active, so that the plan stays empty.
 */
export function importManifest(projects: readonly ImportedProject[], opts: ImportOptions = {}): string {
  return importDocument(projects, opts).toString({ lineWidth: 0, flowCollectionPadding: false });
}

/** The manifest `importManifest` writes, as a `yaml` Document (the nodes `mergeImport` takes projects from). */
function importDocument(projects: readonly ImportedProject[], opts: ImportOptions): Document {
  const sortedProjects = [...projects].sort((a, b) => (a.token < b.token ? -1 : a.token > b.token ? 1 : 0));
  const skippedByProject = new Map<string, { key: LiveKey; why: string }[]>();
  const docProjects = sortedProjects.map((p) => {
    const keys = [...p.keys].sort(byDescription);
    const skipped: { key: LiveKey; why: string }[] = [];
    const kept: LiveKey[] = [];
    for (const key of keys) {
      const why = unrepresentable(key);
      if (why) skipped.push({ key, why });
      else kept.push(key);
    }
    skippedByProject.set(p.token, skipped);
    // Counted over every live key, written or not: an unpinned entry would match a skipped twin too.
    const sharing = new Map<string, number>();
    for (const k of keys) sharing.set(k.description, (sharing.get(k.description) ?? 0) + 1);
    return {
      token: p.token,
      unmanaged: skipped.some((s) => s.key.active) ? 'ignore' : 'deactivate',
      keys: kept.map((k) => ({
        description: k.description,
        permissions: canonicalPermissions(k.permissions),
        ...(k.active ? {} : { active: false }),
        ...(sharing.get(k.description)! > 1 ? { uuid: k.uuid } : {}),
      })),
    };
  });

  const doc = new Document({ version: 1, projects: docProjects });
  doc.commentBefore = [
    ` yaml-language-server: $schema=${opts.schemaRef ?? DEFAULT_SCHEMA_REF}`,
    ` Written by \`scaleflex-keys import\` from the live keys of ${sortedProjects.map((p) => p.token).join(', ')}.`,
    ' No secrets are included; fetch them with `scaleflex-keys secrets pull --project TOKEN --out FILE`.',
    ' Keys that share a description are pinned with `uuid:`; `scaleflex-keys plan` against this file is empty.',
  ].join('\n');

  const projectSeq = doc.get('projects', true) as YAMLSeq;
  sortedProjects.forEach((p, pi) => {
    const projectNode = projectSeq.items[pi] as YAMLMap;
    const skipped = skippedByProject.get(p.token)!;
    if (skipped.length > 0) {
      const lines = skipped.map(
        (s) =>
          ` not declared: "${oneLine(s.key.description)}" (uuid ${s.key.uuid}, created ${s.key.createdAt}, ` +
          `${s.key.active ? 'active' : 'inactive'}): ${s.why}`,
      );
      if (skipped.some((s) => s.key.active)) {
        lines.push(' unmanaged: ignore, so that these keys are left as they are; fix them, then switch to deactivate');
      }
      const unmanagedPair = projectNode.items.find((pair) => (pair.key as { value?: unknown })?.value === 'unmanaged');
      if (unmanagedPair && (unmanagedPair.key as { commentBefore?: string }) !== undefined) {
        (unmanagedPair.key as { commentBefore?: string }).commentBefore = lines.join('\n');
      }
    }
    const keysSeq = projectNode.get('keys', true);
    if (!isSeq(keysSeq)) return;
    const kept = [...p.keys].sort(byDescription).filter((k) => !unrepresentable(k));
    keysSeq.items.forEach((item, ki) => {
      const key = kept[ki]!;
      const self = key.uuid === p.selfUuid ? ' — the admin key this import ran with' : '';
      (item as { commentBefore?: string }).commentBefore = ` uuid ${key.uuid}, created ${key.createdAt}${self}`;
      if (isMap(item)) {
        const perms = item.get('permissions', true);
        if (isSeq(perms)) perms.flow = true;
      }
    });
  });
  return doc;
}

/** A plain value of a mapping node (undefined when absent or not a plain scalar). */
function plain(map: YAMLMap, key: string): unknown {
  return map.get(key, false);
}

function stringList(value: unknown): string[] {
  if (value && typeof value === 'object' && 'toJSON' in value) value = (value as { toJSON(): unknown }).toJSON();
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * Brings one existing key entry in line with its live key while keeping what the author wrote: its position,
 * comments and `formerDescriptions`, and every permission set that still fits (all its permissions are live);
 * `permissions` then lists only what those sets do not cover.
 */
function alignEntry(doc: Document, entry: YAMLMap, live: YAMLMap, sets: ReadonlyMap<string, readonly string[]>): void {
  const description = plain(live, 'description');
  if (plain(entry, 'description') !== description) entry.set('description', description);
  const livePerms = stringList(live.get('permissions', false));
  const liveSet = new Set(livePerms);
  const keptSets = stringList(entry.get('permissionSets', false)).filter((name) => (sets.get(name) ?? ['\0']).every((p) => liveSet.has(p)));
  const covered = new Set(keptSets.flatMap((name) => sets.get(name) ?? []));
  const rest = livePerms.filter((p) => !covered.has(p));
  const written = stringList(entry.get('permissions', false));
  const same = written.length === rest.length && written.every((p) => rest.includes(p));
  if (!same || (rest.length === 0 && entry.has('permissions'))) {
    if (rest.length === 0 && keptSets.length > 0) entry.delete('permissions');
    else {
      const node = doc.createNode(rest);
      node.flow = true;
      entry.set('permissions', node);
    }
  }
  const writtenSets = stringList(entry.get('permissionSets', false));
  if (writtenSets.length !== keptSets.length) {
    if (keptSets.length === 0) entry.delete('permissionSets');
    else {
      const node = doc.createNode(keptSets);
      node.flow = true;
      entry.set('permissionSets', node);
    }
  }
  const active = live.get('active', false) !== false;
  if (active) {
    if (entry.has('active') && plain(entry, 'active') !== true) entry.delete('active');
  } else if (plain(entry, 'active') !== false) entry.set('active', false);
  const uuid = plain(live, 'uuid');
  if (typeof uuid === 'string' && plain(entry, 'uuid') !== uuid) entry.set('uuid', uuid);
}

/**
 * `import --merge`: adds the imported projects to the manifest `existingText` or replaces their keys with the
 * live ones, editing the document in place (the `yaml` Document API), so that every other project, every
 * comment, the permission sets and the order of the keys that already exist are kept. A key entry that
 * matches a live key (by pinned uuid, else by description) stays where it is; live keys without an entry are
 * appended with import's comments; entries without a live key are removed (they would be created). The result
 * validates and plans empty for the imported projects. `existingText` must be a valid manifest (the caller
 * checks it first with the validator, which reports file:line:col).
 */
export function mergeImport(existingText: string, projects: readonly ImportedProject[], opts: ImportOptions = {}): string {
  const doc = parseDocument(existingText, { keepSourceTokens: false });
  const imported = importDocument(projects, opts);
  const sets = new Map<string, string[]>();
  const setsNode = doc.get('permissionSets', false);
  if (isMap(setsNode)) {
    for (const pair of setsNode.items) {
      const name = (pair.key as { value?: unknown })?.value;
      if (typeof name === 'string') sets.set(name, stringList(pair.value));
    }
  }
  const existingProjects = doc.get('projects', false) as YAMLSeq;
  const importedProjects = imported.get('projects', false) as YAMLSeq;
  for (const importedNode of importedProjects.items as YAMLMap[]) {
    const token = plain(importedNode, 'token');
    const target = (existingProjects.items as unknown[]).find((p): p is YAMLMap => isMap(p) && plain(p, 'token') === token);
    if (target === undefined) {
      existingProjects.items.push(importedNode);
      continue;
    }
    // `ignore` is what keeps live keys a manifest cannot express; otherwise the author's choice stands.
    if (plain(importedNode, 'unmanaged') === 'ignore') target.set('unmanaged', 'ignore');
    let keys = target.get('keys', false);
    if (!isSeq(keys)) {
      keys = doc.createNode([]);
      target.set('keys', keys);
    }
    const entries = keys as YAMLSeq;
    const matched = new Set<unknown>();
    const appended: unknown[] = [];
    const liveKeys = (importedNode.get('keys', false) as YAMLSeq).items as YAMLMap[];
    for (const live of liveKeys) {
      const uuid = plain(live, 'uuid');
      const description = plain(live, 'description');
      const entry = (entries.items as unknown[]).find(
        (e): e is YAMLMap =>
          isMap(e) && !matched.has(e) && (uuid !== undefined ? plain(e, 'uuid') === uuid : plain(e, 'uuid') === undefined && plain(e, 'description') === description),
      );
      if (entry === undefined) {
        appended.push(live);
        continue;
      }
      matched.add(entry);
      alignEntry(doc, entry, live, sets);
    }
    entries.items = [...entries.items.filter((e) => matched.has(e)), ...appended];
    if (entries.items.length > 0) entries.flow = false;
  }
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}
