/**
 * Small builders for reconciler tests: live keys, manifest entries, projects and an in-memory `KeysApi` fake
 * (unit tests only; integration tests use the real client against the emulator).
 */
import { createHash } from 'node:crypto';
import type { CreatedKey, CreateKeyInput, KeySpec, KeysApi, LiveKey, Permission, ProjectSpec, UpdateKeyInput } from '../../src/model';
import { ScaleflexApiError } from '../../src/errors';

export function live(uuid: string, description: string, permissions: Permission[] = ['OBJECTS_LIST'], active = true, createdAt = '2026-01-01T00:00:00.000Z'): LiveKey {
  return { uuid, description, permissions, active, createdAt, secretPreview: `****${uuid.slice(-4)}` };
}

export function entry(description: string, permissions: Permission[] = ['OBJECTS_LIST'], more: Partial<KeySpec> = {}): KeySpec {
  return { description, permissions: [...permissions].sort(), active: true, formerDescriptions: [], ...more };
}

export function project(keys: KeySpec[], more: Partial<ProjectSpec> = {}): ProjectSpec {
  return { token: 'demo', unmanaged: 'deactivate', keys, ...more };
}

export const ADMIN: LiveKey = live('00000000-admin-0000-0000-00000000adm1', 'bootstrap admin', ['ACCESS_MANAGE', 'ACCESS_READ', 'OBJECTS_LIST']);

/** A deterministic uuid for the n-th key. */
export function uuidOf(n: number): string {
  const h = createHash('sha256').update(String(n)).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** An in-memory KeysApi with call counting and programmable failures; secrets are `secret-<uuid>`. */
export class FakeKeysApi implements KeysApi {
  readonly keys = new Map<string, LiveKey>();
  readonly calls: string[] = [];
  /** Throws this error on the call whose `calls` entry starts with the given prefix (once). */
  failOn?: { prefix: string; error: Error };
  private n = 0;
  /** Runs before each call returns, so tests can mutate keys "concurrently". */
  beforeReturn?: (call: string) => void;
  inFlight = 0;
  maxInFlight = 0;

  constructor(readonly project: string, keys: LiveKey[], readonly selfUuid = ADMIN.uuid) {
    for (const k of keys) this.keys.set(k.uuid, k);
  }

  private async call<T>(name: string, fn: () => T): Promise<T> {
    this.calls.push(name);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((r) => setTimeout(r, 1));
      if (this.failOn && name.startsWith(this.failOn.prefix)) {
        const { error } = this.failOn;
        this.failOn = undefined;
        throw error;
      }
      this.beforeReturn?.(name);
      return fn();
    } finally {
      this.inFlight--;
    }
  }

  private notFound(uuid: string): never {
    throw new ScaleflexApiError({ status: 404, apiCode: 'NOT_FOUND', msg: `no key ${uuid}`, method: 'GET', path: `/keys/${uuid}` });
  }

  self(): Promise<LiveKey> {
    return this.call('self', () => this.keys.get(this.selfUuid) ?? this.notFound(this.selfUuid));
  }
  async *list(): AsyncIterable<LiveKey> {
    this.calls.push('list');
    yield* [...this.keys.values()];
  }
  get(uuid: string): Promise<LiveKey> {
    return this.call(`get ${uuid}`, () => this.keys.get(uuid) ?? this.notFound(uuid));
  }
  create(input: CreateKeyInput): Promise<CreatedKey> {
    return this.call(`create ${input.description}`, () => {
      const uuid = uuidOf(1000 + this.n++);
      const key: LiveKey = {
        uuid,
        description: input.description,
        permissions: [...input.permissions].sort(),
        active: input.active ?? true,
        createdAt: '2026-02-02T00:00:00.000Z',
        secretPreview: `****${uuid.slice(-4)}`,
      };
      this.keys.set(uuid, key);
      return { key, secret: `secret-${uuid}` };
    });
  }
  update(uuid: string, input: UpdateKeyInput): Promise<LiveKey> {
    return this.call(`update ${uuid}`, () => {
      const k = this.keys.get(uuid) ?? this.notFound(uuid);
      const next: LiveKey = {
        ...k,
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.permissions !== undefined ? { permissions: [...input.permissions].sort() } : {}),
        ...(input.active !== undefined ? { active: input.active } : {}),
      };
      this.keys.set(uuid, next);
      return next;
    });
  }
  setStatus(uuids: readonly string[], active: boolean): Promise<number> {
    return this.call(`setStatus ${active} ${uuids.length}`, () => {
      for (const u of uuids) if (!this.keys.has(u)) this.notFound(u);
      let n = 0;
      for (const u of uuids) {
        const k = this.keys.get(u)!;
        if (k.active !== active) n++;
        this.keys.set(u, { ...k, active });
      }
      return n;
    });
  }
  getSecret(uuid: string): Promise<string> {
    return this.call(`getSecret ${uuid}`, () => `secret-${uuid}`);
  }
}
