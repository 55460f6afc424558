/**
 * `import`'s core: turns the live keys of one or more projects into manifest v1 YAML text (pure, no I/O).
 * The result is sorted, commented with each key's uuid and creation date, carries no secret, validates, and
 * plans empty against the same live keys — the first step of adopting an existing project (peribolos
 * `--dump`, `octodns-dump`).
 */
import { Document, isMap, isSeq, type YAMLMap, type YAMLSeq } from 'yaml';
import type { LiveKey } from '../model';
import { canonicalPermissions } from '../permissions';

/** One project's live keys, as listed through the API. */
export interface ImportedProject {
  readonly token: string;
  readonly keys: readonly LiveKey[];
  /** The uuid of the admin key the import ran with, noted in a comment (it must stay declared and active). */
  readonly selfUuid?: string;
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
export function importManifest(projects: readonly ImportedProject[]): string {
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
    ' yaml-language-server: $schema=./schemas/scaleflex-keys.schema.json',
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
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}
