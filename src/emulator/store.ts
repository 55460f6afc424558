/**
 * The emulator's in-memory state: projects, their keys in listing order, and a secret index. State changes
 * only through `apply(record)`, the same function that replays the journal after a restart, so what was
 * answered and what is recovered cannot drift apart. Pure (no I/O); the journal makes records durable.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { comparePositions, formatMicros, type KeyPosition, pageStart, parseMicros } from './cursor';

/** One key as the emulator keeps it, secret included. */
export interface StoredKey extends KeyPosition {
  readonly uuid: string;
  description: string;
  permissions: string[];
  active: boolean;
  readonly createdAt: string;
  readonly createdUs: number;
  readonly secret: string;
}

/** A key as it appears in the journal and the snapshot. */
export interface KeyRecord {
  readonly uuid: string;
  readonly description: string;
  readonly permissions: readonly string[];
  readonly active: boolean;
  readonly created_at: string;
  readonly secret: string;
  /**
   * What a restart would otherwise recompute per key (a regex for the time, a SHA-256 for the secret index):
   * stored so that replaying 100,000 keys stays fast. Absent in state written before they existed.
   */
  readonly created_us?: number;
  readonly secret_sha256?: string;
}

/**
 * The key a mutation was made with (`by`, absent in records older than this field and in test seeding). The
 * caller's right to make the change is checked when the record is applied, in the same synchronous step that
 * changes the state, so that concurrent requests whose keys deactivate each other cannot both succeed; replay
 * applies records in the same order, so a refused record is refused again and stays without effect.
 */
interface Authorized {
  readonly by?: string;
}

/** One state change. Records are applied in journal order; each carries its sequence number. */
export type Mutation =
  | { readonly op: 'project'; readonly project: string; readonly admin: KeyRecord }
  | ({ readonly op: 'create'; readonly project: string; readonly key: KeyRecord } & Authorized)
  | ({
      readonly op: 'update';
      readonly project: string;
      readonly uuid: string;
      readonly description?: string;
      readonly permissions?: readonly string[];
      readonly active?: boolean;
    } & Authorized)
  | ({ readonly op: 'status'; readonly project: string; readonly uuids: readonly string[]; readonly active: boolean } & Authorized);

/** What applying a record did: refused (the caller may no longer make it), or how many keys a status change changed. */
export interface ApplyResult {
  readonly refused?: 'KEY_DEACTIVATED' | 'PERMISSION_DENIED';
  readonly updated?: number;
}

/** The permission every mutation needs. */
export const MUTATION_PERMISSION = 'ACCESS_MANAGE';

export type JournalRecord = Mutation & { readonly seq: number };

/** The whole state as one JSON document, as versions before format 2 wrote it: one object per key. */
export interface SnapshotV1 {
  readonly format: 1;
  readonly seq: number;
  readonly projects: Record<string, { readonly admin_uuid: string; readonly keys: readonly KeyRecord[] }>;
}

/**
 * The whole state as one JSON document (what compaction writes), one array per field: parsing 100,000 keys as
 * plain arrays of strings and numbers is several times faster than as objects and leaves little garbage. Keys
 * share permission sets, so each distinct set is written once and keys refer to it by index.
 */
export interface SnapshotV2 {
  readonly format: 2;
  readonly seq: number;
  readonly projects: Record<
    string,
    {
      readonly admin_uuid: string;
      readonly permission_sets: readonly (readonly string[])[];
      readonly keys: {
        readonly uuid: readonly string[];
        readonly description: readonly string[];
        readonly permissions: readonly number[];
        readonly active: readonly boolean[];
        readonly created_at: readonly string[];
        readonly created_us: readonly number[];
        readonly secret: readonly string[];
        readonly secret_sha256: readonly string[];
      };
    }
  >;
}

export type Snapshot = SnapshotV1 | SnapshotV2;

/** One project's keys, sorted by (created_at, uuid), with an index by uuid. */
export class ProjectKeys {
  readonly keys: StoredKey[] = [];
  private readonly index = new Map<string, number>();

  constructor(
    readonly token: string,
    public adminUuid: string,
  ) {}

  get size(): number {
    return this.keys.length;
  }

  get(uuid: string): StoredKey | undefined {
    const i = this.index.get(uuid);
    return i === undefined ? undefined : this.keys[i];
  }

  /** Adds a key; keys almost always arrive in order, so this is an append (a sorted insert otherwise). */
  insert(key: StoredKey): void {
    const last = this.keys[this.keys.length - 1];
    if (!last || comparePositions(last, key) < 0) {
      this.index.set(key.uuid, this.keys.length);
      this.keys.push(key);
      return;
    }
    const at = pageStart(this.keys, key);
    this.keys.splice(at, 0, key);
    for (let i = at; i < this.keys.length; i++) this.index.set(this.keys[i]!.uuid, i);
  }

  /** Up to `limit` keys after `after`, and whether more follow. A binary search and a slice: no scan. */
  page(after: KeyPosition | undefined, limit: number): { keys: StoredKey[]; more: boolean } {
    const start = pageStart(this.keys, after);
    const keys = this.keys.slice(start, start + limit);
    return { keys, more: start + keys.length < this.keys.length };
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** A stored key with its secret's SHA-256 (the index key). */
type Indexed = StoredKey & { readonly secretSha256: string };

/** What a list page writes into its JSON text unescaped (see `listPageJson`): a uuid, a timestamp, A-Z 0-9 _ names, printable ASCII. */
const UUID_TEXT = /^[0-9A-Fa-f-]{1,64}$/;
const TIMESTAMP_TEXT = /^[0-9TZ:.+-]{1,40}$/;
const PERMISSION_TEXT = /^[A-Z0-9_]+$/;
const SECRET_TEXT = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

function toStored(record: KeyRecord): Indexed {
  const createdUs = Number.isSafeInteger(record.created_us) ? record.created_us! : parseMicros(record.created_at);
  if (!Number.isFinite(createdUs)) throw new Error(`key ${record.uuid} has an unreadable created_at "${record.created_at}"`);
  // State the emulator wrote always passes; a hand-edited file that would make a page's JSON invalid is refused here.
  if (
    !UUID_TEXT.test(record.uuid) ||
    !TIMESTAMP_TEXT.test(record.created_at) ||
    !SECRET_TEXT.test(record.secret) ||
    !record.permissions.every((p) => PERMISSION_TEXT.test(p))
  ) {
    throw new Error(`key ${JSON.stringify(record.uuid)} holds a uuid, created_at, secret or permission this emulator never writes`);
  }
  return {
    uuid: record.uuid,
    description: record.description,
    // Records are parsed from JSON or built fresh by newKeyRecord, and never changed afterwards: no copy needed.
    permissions: record.permissions as string[],
    active: record.active,
    createdAt: record.created_at,
    createdUs,
    secret: record.secret,
    // A wrong stored hash can only make the key unfindable: findBySecret still compares the secret itself.
    secretSha256: typeof record.secret_sha256 === 'string' ? record.secret_sha256 : sha256(record.secret),
  };
}

/** The stored fields of a new key's record: its creation time in microseconds and its secret's SHA-256. */
export function derivedFields(createdAt: string, secret: string): { created_us: number; secret_sha256: string } {
  return { created_us: parseMicros(createdAt), secret_sha256: sha256(secret) };
}

/** Every project and key the emulator serves. */
export class KeyStore {
  readonly projects = new Map<string, ProjectKeys>();
  /** sha256(secret) -> owning project and key: finds the caller without comparing against every secret. */
  private readonly bySecretHash = new Map<string, { project: string; uuid: string }>();
  /** Sequence number of the last applied record. */
  seq = 0;
  /** Latest creation time handed out or loaded, so creation times stay strictly increasing. */
  private lastCreatedUs = 0;

  /** A creation time strictly after every earlier one (microseconds), and its ISO form. */
  nextCreatedAt(nowMs: number = Date.now()): string {
    const us = Math.max(nowMs * 1000, this.lastCreatedUs + 1);
    this.lastCreatedUs = us;
    return formatMicros(us);
  }

  project(token: string): ProjectKeys | undefined {
    return this.projects.get(token);
  }

  /** Applies one record. Throws on a record that does not fit the state (a corrupt journal). */
  apply(record: JournalRecord): ApplyResult {
    const refused = record.op === 'project' ? undefined : this.refusal(record.project, record.by);
    if (refused) {
      this.seq = Math.max(this.seq, record.seq);
      return { refused };
    }
    let result: ApplyResult = {};
    switch (record.op) {
      case 'project': {
        if (this.projects.has(record.project)) throw new Error(`project ${record.project} created twice`);
        const project = new ProjectKeys(record.project, record.admin.uuid);
        this.projects.set(record.project, project);
        this.addKey(project, record.admin);
        break;
      }
      case 'create':
        this.addKey(this.mustProject(record.project), record.key);
        break;
      case 'update': {
        const key = this.mustKey(record.project, record.uuid);
        if (record.description !== undefined) key.description = record.description;
        if (record.permissions !== undefined) key.permissions = [...record.permissions];
        if (record.active !== undefined) key.active = record.active;
        break;
      }
      case 'status': {
        const keys = record.uuids.map((uuid) => this.mustKey(record.project, uuid));
        result = { updated: keys.filter((key) => key.active !== record.active).length };
        for (const key of keys) key.active = record.active;
        break;
      }
      default:
        throw new Error(`unknown journal operation ${JSON.stringify((record as { op?: unknown }).op)}`);
    }
    this.seq = Math.max(this.seq, record.seq);
    return result;
  }

  /** Why the key `by` may not mutate `project` right now; undefined when it may (or no caller is recorded). */
  private refusal(project: string, by: string | undefined): ApplyResult['refused'] {
    if (by === undefined) return undefined;
    const caller = this.mustKey(project, by);
    if (!caller.active) return 'KEY_DEACTIVATED';
    if (!caller.permissions.includes(MUTATION_PERMISSION)) return 'PERMISSION_DENIED';
    return undefined;
  }

  /** The key of `project` whose secret is `secret`, compared in constant time; undefined if none. */
  findBySecret(project: string, secret: string): StoredKey | undefined {
    const hit = this.bySecretHash.get(sha256(secret));
    if (!hit || hit.project !== project) return undefined;
    const key = this.projects.get(project)?.get(hit.uuid);
    if (!key) return undefined;
    const a = Buffer.from(key.secret, 'utf8');
    const b = Buffer.from(secret, 'utf8');
    return a.length === b.length && timingSafeEqual(a, b) ? key : undefined;
  }

  /** Every secret in the store (for leak scans in tests). */
  allSecrets(): string[] {
    const out: string[] = [];
    for (const project of this.projects.values()) for (const key of project.keys) out.push(key.secret);
    return out;
  }

  toSnapshot(): SnapshotV2 {
    const projects: Record<string, SnapshotV2['projects'][string]> = {};
    for (const [token, project] of this.projects) {
      const sets: string[][] = [];
      const setIndex = new Map<string, number>();
      const cols = {
        uuid: [] as string[],
        description: [] as string[],
        permissions: [] as number[],
        active: [] as boolean[],
        created_at: [] as string[],
        created_us: [] as number[],
        secret: [] as string[],
        secret_sha256: [] as string[],
      };
      for (const key of project.keys) {
        const setKey = key.permissions.join(',');
        let index = setIndex.get(setKey);
        if (index === undefined) {
          index = sets.length;
          sets.push([...key.permissions]);
          setIndex.set(setKey, index);
        }
        cols.uuid.push(key.uuid);
        cols.description.push(key.description);
        cols.permissions.push(index);
        cols.active.push(key.active);
        cols.created_at.push(key.createdAt);
        cols.created_us.push(key.createdUs);
        cols.secret.push(key.secret);
        cols.secret_sha256.push((key as Indexed).secretSha256 ?? sha256(key.secret));
      }
      projects[token] = { admin_uuid: project.adminUuid, permission_sets: sets, keys: cols };
    }
    return { format: 2, seq: this.seq, projects };
  }

  /** Rebuilds a store from a snapshot (format 2, or 1 as older versions wrote it); throws on anything it cannot read. */
  static fromSnapshot(snapshot: Snapshot): KeyStore {
    if ((snapshot.format !== 1 && snapshot.format !== 2) || !Number.isSafeInteger(snapshot.seq) || typeof snapshot.projects !== 'object') {
      throw new Error('the snapshot has an unknown format');
    }
    const store = new KeyStore();
    for (const [token, data] of Object.entries(snapshot.projects)) {
      const project = new ProjectKeys(token, data.admin_uuid);
      store.projects.set(token, project);
      if (snapshot.format === 1) {
        for (const key of (data as SnapshotV1['projects'][string]).keys) store.addKey(project, key);
      } else {
        const { permission_sets: sets, keys: c } = data as SnapshotV2['projects'][string];
        const n = c.uuid.length;
        for (const column of [c.description, c.permissions, c.active, c.created_at, c.created_us, c.secret, c.secret_sha256]) {
          if (!Array.isArray(column) || column.length !== n) throw new Error(`project ${token}: the key columns differ in length`);
        }
        for (let i = 0; i < n; i++) {
          const permissions = sets[c.permissions[i]!];
          if (!Array.isArray(permissions)) throw new Error(`project ${token}: key ${c.uuid[i]} refers to a missing permission set`);
          store.addKey(project, {
            uuid: c.uuid[i]!,
            description: c.description[i]!,
            // Shared between keys with the same set: safe, because a key's permissions are replaced, never changed in place.
            permissions,
            active: c.active[i]!,
            created_at: c.created_at[i]!,
            created_us: c.created_us[i]!,
            secret: c.secret[i]!,
            secret_sha256: c.secret_sha256[i]!,
          });
        }
      }
      if (!project.get(data.admin_uuid)) throw new Error(`project ${token}: its admin key ${data.admin_uuid} is missing`);
    }
    store.seq = snapshot.seq;
    return store;
  }

  private addKey(project: ProjectKeys, record: KeyRecord): void {
    if (project.get(record.uuid)) throw new Error(`key ${record.uuid} created twice`);
    const key = toStored(record);
    project.insert(key);
    this.bySecretHash.set(key.secretSha256, { project: project.token, uuid: key.uuid });
    if (key.createdUs > this.lastCreatedUs) this.lastCreatedUs = key.createdUs;
  }

  private mustProject(token: string): ProjectKeys {
    const project = this.projects.get(token);
    if (!project) throw new Error(`unknown project ${token}`);
    return project;
  }

  private mustKey(token: string, uuid: string): StoredKey {
    const key = this.mustProject(token).get(uuid);
    if (!key) throw new Error(`unknown key ${uuid} in project ${token}`);
    return key;
  }
}
