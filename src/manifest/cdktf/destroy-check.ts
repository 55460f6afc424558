/**
 * The destroy-time question of a CDKTF `ScaleflexApiKey`: when Terraform destroys a key's resource, is the key
 * leaving, or is Terraform only replacing the resource? It is a replacement when the stack (as synthesized now)
 * still declares that resource with another spec — an edit, which the project's re-run apply converges — or a
 * move when another key resource of the project declares the same live key (same description or former
 * description, or the same pinned uuid). Otherwise the key is removed and `deactivate` deactivates it.
 * Pure: the caller reads the stack file (`readStackFile` in `./reader`) and passes its content.
 */
import { canonicalUuid, isRecord } from '../../compare';
import type { Diagnostic } from '../../errors';
import { fileError } from '../diagnostics';
import { keyResourcesOf, nullResources, specTextOf } from './wire';

/** The key resource being destroyed, as its destroy-time provisioner knows it. */
export interface DestroyedKey {
  /** The project token. */
  readonly token: string;
  /** The Terraform name of the key's `null_resource`. */
  readonly resourceName: string;
  /** Its `spec` trigger from Terraform's state (what it was applied with). */
  readonly specText: string;
}

/** The stack file's content: undefined when the file no longer exists (the whole stack was removed). */
export type StackContent = { readonly file: string; readonly text: string } | undefined;

/** What the destroy is. */
export type DestroyVerdict =
  | { readonly kind: 'removal' }
  /** The stack still declares the resource, with another spec. */
  | { readonly kind: 'replacement' }
  /** Another key resource of the project declares the same live key. */
  | { readonly kind: 'move' }
  /** The stack file exists but is not a readable stack: never taken as a removal. */
  | { readonly kind: 'unreadable'; readonly diagnostics: Diagnostic[] };

/** The descriptions and pinned uuid by which the reconciler may match a declared key to a live one. */
function identities(specText: string): { names: Set<string>; uuid?: string } {
  try {
    const k: unknown = JSON.parse(specText);
    if (!isRecord(k)) return { names: new Set() };
    const former = Array.isArray(k.formerDescriptions) ? k.formerDescriptions.filter((d): d is string => typeof d === 'string') : [];
    const names = new Set([...(typeof k.description === 'string' ? [k.description] : []), ...former]);
    return { names, ...(typeof k.uuid === 'string' ? { uuid: canonicalUuid(k.uuid) } : {}) };
  } catch {
    return { names: new Set() };
  }
}

/** What a stack says about one key resource: its own spec (if still declared) and the project's other key specs. */
export type StackKeyLookup =
  | { readonly status: 'unreadable'; readonly diagnostics: Diagnostic[] }
  | { readonly status: 'read'; readonly own?: string; readonly others: readonly string[] };

/** Finds key resource `resourceName` of project `token` in a stack's text, and the project's other key resources. */
export function lookupStackKey(content: { readonly file: string; readonly text: string }, token: string, resourceName: string): StackKeyLookup {
  let stack: unknown;
  try {
    stack = JSON.parse(content.text);
  } catch (error) {
    return { status: 'unreadable', diagnostics: [fileError(content.file, `not a synthesized CDKTF stack: invalid JSON (${(error as Error).message})`)] };
  }
  if (!isRecord(stack)) {
    return { status: 'unreadable', diagnostics: [fileError(content.file, 'not a synthesized CDKTF stack: expected a JSON object')] };
  }
  const keys = keyResourcesOf(nullResources(stack), token);
  const own = keys.find((r) => r.logicalId === resourceName);
  return {
    status: 'read',
    ...(own ? { own: specTextOf(own) } : {}),
    others: keys.filter((r) => r !== own).map((r) => specTextOf(r) as string),
  };
}

/** Whether destroying `key` is a removal, a replacement or a move, given the stack as synthesized now. */
export function destroyVerdict(stack: StackContent, key: DestroyedKey): DestroyVerdict {
  if (stack === undefined) return { kind: 'removal' };
  const found = lookupStackKey(stack, key.token, key.resourceName);
  if (found.status === 'unreadable') return { kind: 'unreadable', diagnostics: found.diagnostics };
  if (found.own !== undefined && found.own !== key.specText) return { kind: 'replacement' };
  const mine = identities(key.specText);
  const claimed = found.others.some((other) => {
    const theirs = identities(other);
    return (mine.uuid !== undefined && mine.uuid === theirs.uuid) || [...mine.names].some((n) => theirs.names.has(n));
  });
  return claimed ? { kind: 'move' } : { kind: 'removal' };
}
