/**
 * The one place secrets of keys leave the process on purpose: `apply --secrets-out FILE` and
 * `secrets pull --out FILE`. The file is a `.json` map or a `.env` file, written with mode 0600 through a
 * temp file and a rename (never half-written), merged with what the file already holds. Under GitHub Actions
 * every secret is also registered with `::add-mask::` before anything could print it.
 *
 * Pure rendering (`mergeSecrets`) is kept apart from the file I/O (`writeSecretsFile`, `SecretSink`).
 */
import { constants as fsConstants, promises as fsp, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { SecretsFileError } from '../errors';
import { secrets } from '../redact';
import * as lockfile from 'proper-lockfile';
import { writeFileAtomic } from '../atomic-file';
import { secretVariableName } from '../secret-names';
import type { Io } from './io';

/** How a secrets file is laid out. */
export type SecretsFormat = 'json' | 'env';

/** One key's secret, with what identifies the key. */
export interface KeySecret {
  readonly project: string;
  readonly uuid: string;
  readonly description: string;
  readonly secret: string;
}

/**
 * The format for `file`: the explicit flag when given, else `.env` files (`.env`, `x.env`, `.env.local`)
 * are `env`, everything else `json`.
 */
export function secretsFormatFor(file: string, explicit?: string): SecretsFormat {
  if (explicit === 'json' || explicit === 'env') return explicit;
  const base = path.basename(file).toLowerCase();
  return base === '.env' || base.endsWith('.env') || base.startsWith('.env.') ? 'env' : 'json';
}

/** The `.env` variable name of a key (one definition, `src/secret-names.ts`, shared with the manifest rule). */
export const envVarName = secretVariableName;

/** Sorts entries so that output never depends on the order keys were created in. */
function sorted(entries: readonly KeySecret[]): KeySecret[] {
  return [...entries].sort(
    (a, b) =>
      a.project.localeCompare(b.project, 'en') ||
      a.description.localeCompare(b.description, 'en') ||
      a.uuid.localeCompare(b.uuid, 'en'),
  );
}

/**
 * Keys that share a description in one project (pinned duplicates) cannot share a name in the file:
 * every one of them gets its uuid appended, so no secret silently replaces another.
 */
function displayNames(entries: readonly KeySecret[]): Map<KeySecret, string> {
  const count = new Map<string, Set<string>>();
  for (const e of entries) {
    const k = `${e.project}\u0000${e.description}`;
    if (!count.has(k)) count.set(k, new Set());
    count.get(k)!.add(e.uuid);
  }
  const names = new Map<KeySecret, string>();
  for (const e of entries) {
    const shared = count.get(`${e.project}\u0000${e.description}`)!.size > 1;
    names.set(e, shared ? `${e.description} (${e.uuid})` : e.description);
  }
  return names;
}

/** Where `name` goes in the sorted `names` (the order of the default sort: UTF-16 code units). */
function insertionPoint(names: readonly string[], name: string): number {
  let lo = 0;
  let hi = names.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (names[mid]! < name) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A `.env` assignment line (optionally `export`ed): group 1 is the variable. */
const ENV_LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/;

/** The comment scaleflex-keys writes above each variable: `# project: description (uuid)`. */
const COMMENT_LINE = /^# ([a-z0-9-]+): (.*) \(([^()]*)\)$/;

const UNMERGEABLE_HINT = 'fix or move the file, or choose another --out / --secrets-out file';

/**
 * A secrets file's content held in memory: parsed once, merged batch by batch, rendered for each write, so that
 * storing the secrets of many new keys costs one serialization per write rather than a re-parse as well.
 */
export class SecretsDocument {
  /** json: project -> name -> that name's rendered line (`    "name": "secret"`), so a write only joins lines. */
  private readonly json = new Map<string, Map<string, string>>();
  /** json: each project's names in sorted order, kept between writes (new names inserted in place). */
  private readonly order = new Map<string, string[]>();
  /** env: the file's lines, and where each variable is. */
  private readonly lines: string[] = [];
  private readonly index = new Map<string, number>();
  /** env: variable -> `project\0description` of the key it holds, from the comment line above it. */
  private readonly owners = new Map<string, string>();

  private constructor(readonly format: SecretsFormat) {}

  /** Parses `existing` (undefined: no file yet); throws SecretsFileError when it cannot be merged into. */
  static parse(existing: string | undefined, format: SecretsFormat, file = 'secrets file'): SecretsDocument {
    const doc = new SecretsDocument(format);
    if (existing === undefined || existing.trim() === '') return doc;
    if (format === 'env') {
      doc.lines.push(...existing.replace(/\n$/, '').split('\n'));
      doc.lines.forEach((line, i) => {
        const m = ENV_LINE.exec(line);
        if (!m) return;
        doc.index.set(m[1]!, i);
        const label = COMMENT_LINE.exec(doc.lines[i - 1] ?? '');
        if (label) doc.owners.set(m[1]!, `${label[1]}\u0000${label[2]}`);
      });
      return doc;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(existing);
    } catch {
      throw new SecretsFileError(`cannot merge into ${file}: it is not valid JSON`, { hint: UNMERGEABLE_HINT });
    }
    const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
    if (!isMap(parsed) || !Object.values(parsed).every((v) => isMap(v) && Object.values(v).every((x) => typeof x === 'string'))) {
      throw new SecretsFileError(
        `cannot merge into ${file}: expected a JSON object of projects, each mapping descriptions to secrets`,
        { hint: UNMERGEABLE_HINT },
      );
    }
    for (const [project, names] of Object.entries(parsed)) {
      doc.json.set(
        project,
        new Map(Object.entries(names as Record<string, string>).map(([name, secret]) => [name, `    ${JSON.stringify(name)}: ${JSON.stringify(secret)}`])),
      );
    }
    return doc;
  }

  /** Adds or replaces the secrets of `entries` (later entries win). */
  merge(entries: readonly KeySecret[]): this {
    const names = displayNames(entries);
    if (this.format === 'json') {
      for (const e of sorted(entries)) {
        if (!this.json.has(e.project)) this.json.set(e.project, new Map());
        const project = this.json.get(e.project)!;
        const name = names.get(e)!;
        if (!project.has(name)) this.order.get(e.project)?.splice(insertionPoint(this.order.get(e.project)!, name), 0, name);
        project.set(name, `    ${JSON.stringify(name)}: ${JSON.stringify(e.secret)}`);
      }
      return this;
    }
    for (const e of sorted(entries)) {
      // A name belongs to one (project, description): the file's comments say whose it is, across batches and runs.
      // The manifest refuses two declared keys that would share one; should two keys still meet here, the later
      // one gets its uuid appended (stable: a key's uuid never changes) instead of replacing the other's secret.
      // A rotated key's successor (same description) replaces its predecessor's value.
      const who = `${e.project}\u0000${names.get(e)!}`;
      let name = envVarName(e.project, names.get(e)!);
      const owner = this.owners.get(name);
      if (owner !== undefined && owner !== who) name = `${name}_${e.uuid.replace(/[^A-Za-z0-9]/g, '').slice(0, 8).toUpperCase()}`;
      this.owners.set(name, who);
      const line = `${name}=${e.secret}`;
      const label = `# ${`${e.project}: ${e.description} (${e.uuid})`.replace(/[\r\n]+/g, ' ')}`;
      const at = this.index.get(name);
      if (at !== undefined) {
        this.lines[at] = line;
        // The comment above names the key whose secret is below it, never a predecessor's.
        if (at > 0 && this.lines[at - 1]!.startsWith('# ')) this.lines[at - 1] = label;
        else this.lines.splice(at, 0, label), this.reindex();
      } else {
        this.lines.push(label, line);
        this.index.set(name, this.lines.length - 1);
      }
    }
    return this;
  }

  private reindex(): void {
    this.index.clear();
    this.lines.forEach((line, i) => {
      const m = ENV_LINE.exec(line);
      if (m) this.index.set(m[1]!, i);
    });
  }

  /** Whether the file holds a secret for the key `description` of `project` (by its name in this format). */
  has(project: string, description: string): boolean {
    return this.format === 'json' ? Boolean(this.json.get(project)?.has(description)) : this.index.has(envVarName(project, description));
  }

  /** The file content: JSON sorted by project and name (the same secrets give the same bytes), or the lines. */
  render(): string {
    if (this.format === 'env') return `${this.lines.join('\n')}\n`;
    // Byte for byte what JSON.stringify(sorted, null, 2) gives, built without rebuilding objects per write.
    const projects = [...this.json.keys()].sort();
    if (projects.length === 0) return '{}\n';
    const blocks = projects.map((project) => {
      const rows = this.json.get(project)!;
      let names = this.order.get(project);
      if (!names) {
        names = [...rows.keys()].sort();
        this.order.set(project, names);
      }
      if (names.length === 0) return `  ${JSON.stringify(project)}: {}`;
      return `  ${JSON.stringify(project)}: {\n${names.map((name) => rows.get(name)!).join(',\n')}\n  }`;
    });
    return `{\n${blocks.join(',\n')}\n}\n`;
  }
}

/**
 * Pure: the new content of a secrets file holding `existing` (undefined: no file yet) merged with `entries`.
 * Later entries win over earlier values for the same key. Throws SecretsFileError when `existing` cannot be
 * understood (nothing is overwritten then).
 */
export function mergeSecrets(
  existing: string | undefined,
  entries: readonly KeySecret[],
  format: SecretsFormat,
  file = 'secrets file',
): string {
  return SecretsDocument.parse(existing, format, file).merge(entries).render();
}

function readExisting(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SecretsFileError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

/**
 * Checks, before anything is changed, that `file` can be merged into and written: an apply must not create
 * keys whose secrets then have nowhere to go. A missing directory is created (mode 0700), as for
 * `--secrets-out .scaleflex-local/secrets.json` on a fresh clone.
 */
export async function preflightSecretsFile(file: string, format: SecretsFormat): Promise<void> {
  // A FIFO or a device would hang the read or swallow the secrets: only a regular file (or none yet) will do.
  try {
    const stat = await fsp.stat(file);
    if (!stat.isFile()) throw new SecretsFileError(`cannot use ${file} as a secrets file: it is not a regular file`, { hint: UNMERGEABLE_HINT });
  } catch (error) {
    if (error instanceof SecretsFileError) throw error;
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new SecretsFileError(`cannot use ${file}: ${(error as Error).message}`);
  }
  mergeSecrets(readExisting(file), [], format, file);
  const dir = path.dirname(path.resolve(file));
  try {
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    await fsp.access(dir, fsConstants.W_OK);
  } catch (error) {
    throw new SecretsFileError(`cannot write ${file}: the directory ${dir} cannot be created or written (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** How long a writer waits for another's lock on a secrets file before giving up (the lock is held per write). */
const LOCK_RETRIES = { retries: 200, minTimeout: 10, maxTimeout: 200, factor: 1.2 } as const;
/** A lock not refreshed for this long is a dead writer's: taken over. */
const LOCK_STALE_MS = 10_000;

/**
 * Runs `fn` holding the exclusive lock of `file` (`FILE.lock`, proper-lockfile), so that two applies or pulls
 * writing one secrets file never lose each other's secrets: each re-reads the file under the lock before writing.
 */
async function withFileLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  let release: (() => Promise<void>) | undefined;
  try {
    release = await lockfile.lock(file, { realpath: false, lockfilePath: `${file}.lock`, retries: LOCK_RETRIES, stale: LOCK_STALE_MS });
  } catch (error) {
    throw new SecretsFileError(`cannot write ${file}: another scaleflex-keys run holds its lock (${file}.lock) and did not release it in time (${(error as Error).message})`, {
      hint: `wait for the other apply or secrets pull to finish; if none is running, the lock is released on its own after ${LOCK_STALE_MS / 1000} s`,
    });
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}

/** Merges `entries` into `file` (created if missing), atomically, mode 0600, under the file's lock. */
export async function writeSecretsFile(file: string, entries: readonly KeySecret[], format: SecretsFormat): Promise<void> {
  await withFileLock(file, () => writeFileAtomic(file, mergeSecrets(readExisting(file), entries, format, file), 0o600, (m) => new SecretsFileError(m)));
}

/** A file's identity for "has anyone written it since": inode, size and mtime; empty when it does not exist. */
function stampOf(file: string): string {
  try {
    const st = statSync(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return '';
  }
}

/** Which of `keys` (project, description) have no secret in `file`; all of them when it cannot be read. */
export function missingSecrets(file: string, format: SecretsFormat, keys: readonly { project: string; description: string }[]): { project: string; description: string }[] {
  let doc: SecretsDocument;
  try {
    doc = SecretsDocument.parse(readExisting(file), format, file);
  } catch {
    return [...keys];
  }
  return keys.filter((k) => !doc.has(k.project, k.description));
}

/**
 * Registers a secret with the redactor and, under GitHub Actions, with the runner's log masking.
 *
 * `::add-mask::<value>` necessarily contains the secret itself, so it is the one line that bypasses the
 * redactor (through `io.unredactedOut`): redacting it would register `[REDACTED]` instead and leave the real
 * value unmasked in the job log. It is written before the secret is stored or any line about its key is
 * printed, so the runner masks it from then on. Outside GitHub Actions nothing is printed.
 */
export function protectSecret(io: Io, secret: string): void {
  secrets.add(secret);
  if (io.env.GITHUB_ACTIONS === 'true' && io.unredactedOut) {
    io.unredactedOut(`::add-mask::${secret}\n`);
  }
}

/**
 * Collects secrets as keys are created and merges them into one file. Concurrent `add`s are coalesced into
 * one locked read-merge-write at a time; each `add` resolves once its secret is on disk (or rejects when it cannot be written).
 */
export class SecretSink {
  private pending: KeySecret[] = [];
  private draining: Promise<void> | undefined;
  private stored = 0;
  /** The file as this sink last wrote it, and its identity then: reused while nobody else has written it. */
  private cached: { document: SecretsDocument; stamp: string } | undefined;

  constructor(
    private readonly io: Io,
    readonly file: string,
    readonly format: SecretsFormat,
  ) {}

  /** How many secrets have been written so far. */
  get written(): number {
    return this.stored;
  }

  /** Protects the secret (redactor, GitHub mask) at once, then stores it. */
  add(entry: KeySecret): Promise<void> {
    protectSecret(this.io, entry.secret);
    this.pending.push(entry);
    this.draining ??= this.drain();
    return this.draining;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0);
        // Under the lock, re-read the file unless it is exactly what this sink wrote last (same inode, size and
        // mtime): another run may have written it since, and then its secrets are merged in, never lost.
        await withFileLock(this.file, async () => {
          const document =
            this.cached && this.cached.stamp === stampOf(this.file)
              ? this.cached.document
              : SecretsDocument.parse(readExisting(this.file), this.format, this.file);
          document.merge(batch);
          await writeFileAtomic(this.file, document.render(), 0o600, (m) => new SecretsFileError(m));
          this.cached = { document, stamp: stampOf(this.file) };
        });
        this.stored += batch.length;
      }
    } finally {
      this.draining = undefined;
    }
  }
}
