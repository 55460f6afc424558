/**
 * The domain types every stage of the pipeline speaks: what the manifest declares (DesiredState),
 * what the Scaleflex API holds (LiveKey), and the narrow KeysApi seam between the reconciler and the API.
 * Pure types; this module imports nothing but the permission list.
 */
import type { Permission } from './permissions';

export type { Permission } from './permissions';

/** Where a value came from in a source file, for error messages (1-based line and column). */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** What to do with live keys that no manifest entry declares. */
export type UnmanagedPolicy = 'deactivate' | 'ignore';

/** Where a project's admin key comes from: an environment variable or a file; never the value. */
export interface CredentialsRef {
  readonly env?: string;
  readonly file?: string;
}

/** One declared key, with permission sets already expanded. */
export interface KeySpec {
  /** The key's identity within its project. */
  readonly description: string;
  /** Effective permissions: the union of `permissions` and the named sets, sorted, no repeats. */
  readonly permissions: readonly Permission[];
  readonly active: boolean;
  /** Earlier descriptions, so that a rename is matched as a rename rather than a new key. */
  readonly formerDescriptions: readonly string[];
  /** Pins the entry to one live key. */
  readonly uuid?: string;
  /** Where the entry was declared (YAML position or construct path), when known. */
  readonly source?: SourceLocation;
}

/** One declared project. */
export interface ProjectSpec {
  readonly token: string;
  /** The API base URL the manifest gives, if any (see the reconciler for the full precedence). */
  readonly apiUrl?: string;
  readonly credentials?: CredentialsRef;
  readonly unmanaged: UnmanagedPolicy;
  readonly keys: readonly KeySpec[];
  readonly source?: SourceLocation;
}

/** Everything a manifest (or a synthesized CDKTF stack) declares. */
export interface DesiredState {
  readonly projects: readonly ProjectSpec[];
}

/** A key as the Scaleflex API reports it. Never carries the secret. */
export interface LiveKey {
  readonly uuid: string;
  readonly description: string;
  readonly permissions: readonly Permission[];
  readonly active: boolean;
  /** ISO 8601. */
  readonly createdAt: string;
  /** The secret's last 4 characters, masked, as the API shows it. */
  readonly secretPreview: string;
}

/** A freshly created key and its secret, which the caller must route to a secret sink and nowhere else. */
export interface CreatedKey {
  readonly key: LiveKey;
  readonly secret: string;
}

export interface CreateKeyInput {
  readonly description: string;
  readonly permissions: readonly Permission[];
  readonly active?: boolean;
}

export interface UpdateKeyInput {
  readonly description?: string;
  readonly permissions?: readonly Permission[];
  readonly active?: boolean;
}

/**
 * The reconciler's view of one project's API: the handful of calls apply needs.
 * The undici client in `src/api/` implements it; unit tests may use a small in-memory fake.
 */
export interface KeysApi {
  /** The project token this API talks to. */
  readonly project: string;
  /** The key the tool authenticates with. */
  self(): Promise<LiveKey>;
  /** Every key of the project, page by page, in the API's stable order. */
  list(): AsyncIterable<LiveKey>;
  get(uuid: string): Promise<LiveKey>;
  create(input: CreateKeyInput): Promise<CreatedKey>;
  update(uuid: string, input: UpdateKeyInput): Promise<LiveKey>;
  /** Activates or deactivates up to the API's bulk maximum of keys, all or nothing; returns how many changed. */
  setStatus(uuids: readonly string[], active: boolean): Promise<number>;
  getSecret(uuid: string): Promise<string>;
}
