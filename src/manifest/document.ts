/**
 * The manifest as written (before defaults and permission-set expansion), as TypeScript types, plus field
 * tables that the compiler checks against these types and `test/unit/schema.test.ts` checks against the JSON
 * Schema — so the types, the schema and the code cannot drift apart silently.
 */
import type { Permission, UnmanagedPolicy } from '../model';

/** A manifest file's content (format version 1). */
export interface ManifestDocument {
  version: 1;
  permissionSets?: Record<string, Permission[]>;
  /** Review rules (see `src/policy/`); evaluated by validate, plan and audit, never sent to the API. */
  policy?: Record<string, unknown>[];
  projects: ManifestProject[];
}

/** One `projects[]` entry as written. */
export interface ManifestProject {
  token: string;
  apiUrl?: string;
  credentials?: ManifestCredentials;
  unmanaged?: UnmanagedPolicy;
  /** Rotation with overlap for every key of the project that has no `rotate` of its own (and pins no uuid). */
  rotate?: ManifestRotation;
  /** Where the secret of each new key goes, unless the key declares its own `deliver:`. */
  deliver?: ManifestDelivery[];
  keys: ManifestKey[];
}

/** `rotate:` as written: durations `90d`, `13w`, `1y`; `overlap` shorter than `every`. */
export interface ManifestRotation {
  /** How old the live key may get before a plan rotates it: days, weeks or years (`90d`, `13w`, `1y`). */
  every: string;
  /** How long the old key stays active next to its successor (`7d`); shorter than `every`. */
  overlap: string;
}

/** One `deliver:` sink as written: exactly one of `exec` (with an optional `timeout`, seconds) or `file`. */
export interface ManifestDelivery {
  exec?: string[];
  timeout?: number;
  file?: string;
}

/** `projects[].credentials`: exactly one of the two. */
export interface ManifestCredentials {
  env?: string;
  file?: string;
}

/** One `keys[]` entry as written. */
export interface ManifestKey {
  description: string;
  permissions?: Permission[];
  permissionSets?: string[];
  active?: boolean;
  /** Never deactivated, never stripped of ACCESS_READ/ACCESS_MANAGE (the reconciler's guard enforces it). */
  protected?: boolean;
  formerDescriptions?: string[];
  uuid?: string;
  owner?: string;
  purpose?: string;
  justification?: string;
  rotate?: ManifestRotation;
  /** A UTC date or date-time: from then on plans deactivate the key. */
  expires?: string;
  /** Where this key's secret goes when it is created, instead of the project's `deliver:`. */
  deliver?: ManifestDelivery[];
}

/** For each field of T: whether the type makes it required; the compiler rejects a table that disagrees. */
export type FieldTable<T> = { readonly [K in keyof T]-?: object extends Pick<T, K> ? 'optional' : 'required' };

/** The fields of each manifest object, as the TypeScript types declare them. */
export const MANIFEST_FIELDS = {
  manifest: { version: 'required', permissionSets: 'optional', policy: 'optional', projects: 'required' } satisfies FieldTable<ManifestDocument>,
  project: {
    token: 'required',
    apiUrl: 'optional',
    credentials: 'optional',
    unmanaged: 'optional',
    rotate: 'optional',
    deliver: 'optional',
    keys: 'required',
  } satisfies FieldTable<ManifestProject>,
  credentials: { env: 'optional', file: 'optional' } satisfies FieldTable<ManifestCredentials>,
  delivery: { exec: 'optional', timeout: 'optional', file: 'optional' } satisfies FieldTable<ManifestDelivery>,
  key: {
    description: 'required',
    permissions: 'optional',
    permissionSets: 'optional',
    active: 'optional',
    protected: 'optional',
    formerDescriptions: 'optional',
    uuid: 'optional',
    owner: 'optional',
    purpose: 'optional',
    justification: 'optional',
    rotate: 'optional',
    expires: 'optional',
    deliver: 'optional',
  } satisfies FieldTable<ManifestKey>,
} as const;

/** Every UnmanagedPolicy, checked exhaustive by the compiler. */
export const UNMANAGED_POLICIES = Object.keys({ deactivate: true, ignore: true } satisfies Record<UnmanagedPolicy, true>) as UnmanagedPolicy[];
