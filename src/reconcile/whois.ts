/**
 * `whois`'s pure core: which live keys could hold a suspected secret (narrowed by the API's masked preview, so only
 * those candidates' secrets are ever fetched), the constant-time comparison, whether the manifest declares the key
 * found (through `matchEntries`, the only place matching rules live), the one-key desired state a quarantine plans
 * from, and the manifest edit that keeps the next plan from reactivating a quarantined key. No I/O; the CLI command
 * (`src/cli/commands/whois.ts`) fetches and prints.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { KeySpec, LiveKey, ProjectSpec, UnmanagedPolicy } from '../model';
import { isPermission } from '../permissions';
import { matchEntries } from './match';

/** The longest input accepted as one secret (Scaleflex secrets are 32+ characters; this is far beyond). */
export const MAX_SECRET_LENGTH = 4096;

/**
 * The visible tail of a masked preview (`****a1b2` -> `a1b2`), or undefined when it shows nothing usable (empty,
 * all mask). Any leading run of `*` is the mask.
 */
export function previewTail(preview: string): string | undefined {
  const tail = preview.replace(/^\*+/, '');
  return tail === '' || tail.includes('*') ? undefined : tail;
}

/** What narrowing found. */
export interface Candidates {
  /** Keys whose preview tail ends the secret, plus keys whose preview is unusable (they cannot be ruled out). */
  readonly candidates: readonly LiveKey[];
  /** How many of the candidates are there only because their preview shows nothing usable. */
  readonly unreadablePreviews: number;
}

/**
 * The keys that could hold `secret`: those whose masked preview's visible tail is the secret's own tail. A key whose
 * preview is unusable stays a candidate (never miss the leaked key); every other key is ruled out unfetched.
 */
export function narrowCandidates(secret: string, keys: readonly LiveKey[]): Candidates {
  const candidates: LiveKey[] = [];
  let unreadablePreviews = 0;
  for (const key of keys) {
    const tail = previewTail(key.secretPreview);
    if (tail === undefined) {
      unreadablePreviews++;
      candidates.push(key);
    } else if (secret.endsWith(tail)) {
      candidates.push(key);
    }
  }
  return { candidates, unreadablePreviews };
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * Whether two secrets are equal, in time that does not depend on where they differ: both are hashed to 32 bytes first
 * (so the lengths are equal, as `timingSafeEqual` needs, and the length is not revealed either).
 */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** Why stdin cannot be read as a secret, or how to read it. */
export type SecretSource = { readonly kind: 'stdin' } | { readonly kind: 'prompt' } | { readonly kind: 'refuse'; readonly message: string; readonly hint: string };

/**
 * Where the suspected secret comes from. A terminal on stdin would echo a pasted secret to the screen (and into
 * scrollback or a screen recording), so it is refused unless `--prompt`, which reads it without echo; `--prompt`
 * needs that terminal.
 */
export function secretSource(stdinIsTTY: boolean, prompt: boolean): SecretSource {
  if (prompt) {
    return stdinIsTTY
      ? { kind: 'prompt' }
      : { kind: 'refuse', message: '--prompt reads the secret from a terminal, but stdin is not one', hint: 'pipe the secret on stdin without --prompt' };
  }
  return stdinIsTTY
    ? {
        kind: 'refuse',
        message: 'stdin is a terminal: a secret typed or pasted there would be echoed',
        hint: 'pipe it (`pbpaste | scaleflex-keys whois`, `scaleflex-keys whois < file`) or use --prompt to type it without echo',
      }
    : { kind: 'stdin' };
}

/**
 * The secret in what was read from stdin: one trailing newline (`\n` or `\r\n`) removed. Returns a problem instead
 * when it is empty, spans lines or is too long; the problem never quotes the input.
 */
export function parseSecretInput(text: string): { readonly secret: string } | { readonly problem: string } {
  const secret = text.replace(/\r?\n$/, '');
  if (secret.trim() === '') return { problem: 'no secret on stdin (the input was empty)' };
  if (/[\r\n]/.test(secret)) return { problem: 'stdin holds more than one line; give exactly one secret' };
  if (secret.length > MAX_SECRET_LENGTH) return { problem: `stdin holds ${secret.length} characters, more than one secret (at most ${MAX_SECRET_LENGTH})` };
  return { secret };
}

/** What the manifest says about a key. */
export type Declaration =
  /** An entry stands for the key. */
  | { readonly kind: 'declared'; readonly entry: KeySpec }
  /** The key is a newer exact twin of the declared key `kept`, which plans retire (rename and deactivate). */
  | { readonly kind: 'twin'; readonly entry: KeySpec; readonly kept: LiveKey }
  /** The key is one of several an entry matches; plans refuse the project until the entry is pinned. */
  | { readonly kind: 'ambiguous'; readonly entry: KeySpec }
  /** No entry stands for it: `unmanaged` decides what plans do with it. */
  | { readonly kind: 'undeclared'; readonly unmanaged: UnmanagedPolicy }
  /** No manifest was read, or it does not declare the project. */
  | { readonly kind: 'no-manifest' };

/** What `project` (undefined: no manifest for it) declares about `key`, among its `live` keys. */
export function declarationOf(project: ProjectSpec | undefined, live: readonly LiveKey[], key: LiveKey): Declaration {
  if (!project) return { kind: 'no-manifest' };
  const m = matchEntries(project.keys, live);
  // An ambiguity also records its oldest candidate as matched: it is checked first so that it is not "declared".
  const ambiguity = m.ambiguities.find((a) => a.candidates.some((k) => k.uuid === key.uuid));
  if (ambiguity) return { kind: 'ambiguous', entry: ambiguity.entry };
  const twin = m.twins.find((t) => t.key.uuid === key.uuid);
  if (twin) {
    const entry = [...m.matched].find(([, k]) => k.uuid === twin.kept.uuid)?.[0];
    if (entry) return { kind: 'twin', entry, kept: twin.kept };
  }
  const entry = [...m.matched].find(([, k]) => k.uuid === key.uuid)?.[0];
  if (entry) return { kind: 'declared', entry };
  return { kind: 'undeclared', unmanaged: project.unmanaged };
}

/**
 * Whether a `protected: true` entry stands, or may stand (an ambiguity), for the key. A newer twin is not protected:
 * plans retire it whatever its entry says, as they do.
 */
export function isProtected(declaration: Declaration): boolean {
  return (declaration.kind === 'declared' || declaration.kind === 'ambiguous') && declaration.entry.protected === true;
}

/**
 * The desired state a quarantine plans from: one entry pinned to the key's uuid, as it is live but inactive,
 * `protected` as the manifest has it, every other key ignored. Planned by the reconciler like any change, so the
 * guards (self-lockout, protected key, last admin) see it. Unknown permissions are left out: the reconciler keeps
 * them anyway.
 */
export function quarantineSpec(token: string, key: LiveKey, declaration: Declaration): ProjectSpec {
  const pinned: KeySpec = {
    description: key.description,
    permissions: key.permissions.filter(isPermission),
    active: false,
    formerDescriptions: [],
    uuid: key.uuid,
    ...(isProtected(declaration) ? { protected: true } : {}),
  };
  return { token, unmanaged: 'ignore', keys: [pinned] };
}

/** The manifest edit that keeps the next plan from reactivating a quarantined key. */
export interface ManifestEdit {
  /** Whether the manifest must change. */
  readonly needed: boolean;
  /** Where (`file:line:col`, or a construct path), when an existing entry is to be edited. */
  readonly at?: string;
  /** What to do, one sentence. */
  readonly summary: string;
  /** YAML to write (an entry to add, or the entry's lines to change), indented for a project's `keys:` list. */
  readonly snippet?: string;
}

/** `file:line:col` (or the construct path) of an entry, when known. */
export function whereDeclared(entry: KeySpec): string | undefined {
  const s = entry.source;
  if (!s) return undefined;
  return s.construct ? `${s.file} (${s.construct})` : `${s.file}:${s.line}:${s.column}`;
}

const yamlString = (text: string): string => JSON.stringify(text);

/** An entry pinned by uuid: pinned entries may share a description, so adding it can never make a plan ambiguous. */
function pinnedEntryYaml(key: LiveKey): string {
  const known = key.permissions.filter(isPermission);
  const unknown = key.permissions.filter((p) => !isPermission(p));
  return [
    `      - description: ${yamlString(key.description)}`,
    `        uuid: ${key.uuid}`,
    `        permissions: [${known.join(', ')}]${unknown.length ? `  # also holds ${unknown.join(', ')} (kept as is)` : ''}`,
    '        active: false',
    '',
  ].join('\n');
}

/** The manifest edit for a quarantined `key` of project `token`, given what the manifest declares about it. */
export function manifestEdit(token: string, key: LiveKey, declaration: Declaration): ManifestEdit {
  switch (declaration.kind) {
    case 'declared': {
      const at = whereDeclared(declaration.entry);
      if (!declaration.entry.active) {
        return { needed: false, ...(at ? { at } : {}), summary: `nothing to change: the entry for ${yamlString(declaration.entry.description)} already says active: false` };
      }
      return {
        needed: true,
        ...(at ? { at } : {}),
        summary: `set \`active: false\` on the entry for ${yamlString(declaration.entry.description)} in project ${token}`,
        snippet: `      - description: ${yamlString(declaration.entry.description)}\n        active: false\n`,
      };
    }
    case 'twin':
      return {
        needed: false,
        summary:
          `nothing to change: it is a newer duplicate of ${yamlString(declaration.entry.description)} (uuid ${declaration.kept.uuid}), ` +
          'which plans retire (rename and deactivate) anyway',
      };
    case 'ambiguous': {
      const at = whereDeclared(declaration.entry);
      return {
        needed: true,
        ...(at ? { at } : {}),
        summary:
          `the entry for ${yamlString(declaration.entry.description)} matches several live keys (plans refuse project ${token} until it is pinned): ` +
          'pin the entry to the key it should manage with `uuid:`, and add this entry for the quarantined key',
        snippet: pinnedEntryYaml(key),
      };
    }
    case 'undeclared':
      if (declaration.unmanaged === 'deactivate') {
        return { needed: false, summary: `nothing to change: no entry declares it and project ${token} has \`unmanaged: deactivate\`, so plans keep it inactive` };
      }
      return {
        needed: true,
        summary: `add this entry to project ${token}'s keys (it has \`unmanaged: ignore\`, so nothing declares the key inactive yet)`,
        snippet: pinnedEntryYaml(key),
      };
    case 'no-manifest':
      return {
        needed: false,
        summary: `no manifest declares project ${token}: if one manages it elsewhere, add this entry there so that its next plan keeps the key inactive`,
        snippet: pinnedEntryYaml(key),
      };
  }
}
