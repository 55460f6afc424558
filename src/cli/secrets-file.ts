/**
 * The one place secrets of keys leave the process on purpose: `apply --secrets-out FILE` and
 * `secrets pull --out FILE`. The file is a `.json` map or a `.env` file, written with mode 0600 through a
 * temp file and a rename (never half-written), merged with what the file already holds. Under GitHub Actions
 * every secret is also registered with `::add-mask::` before anything could print it.
 *
 * Pure rendering (`mergeSecrets`) is kept apart from the file I/O (`writeSecretsFile`, `SecretSink`).
 */
import { constants as fsConstants, promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { SecretsFileError } from '../errors';
import { secrets } from '../redact';
import { writeFileAtomic } from '../atomic-file';
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

/**
 * The `.env` variable name of a key: `SCALEFLEX_KEY_<PROJECT>_<DESCRIPTION>`, upper-cased, every run of
 * characters outside `[A-Z0-9]` turned into one `_`.
 */
export function envVarName(project: string, description: string): string {
  const part = (s: string) =>
    s
      .toUpperCase()
      .replace(/[^A-Z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '');
  return ['SCALEFLEX_KEY', part(project), part(description) || 'KEY'].filter(Boolean).join('_');
}

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

  private constructor(readonly format: SecretsFormat) {}

  /** Parses `existing` (undefined: no file yet); throws SecretsFileError when it cannot be merged into. */
  static parse(existing: string | undefined, format: SecretsFormat, file = 'secrets file'): SecretsDocument {
    const doc = new SecretsDocument(format);
    if (existing === undefined || existing.trim() === '') return doc;
    if (format === 'env') {
      doc.lines.push(...existing.replace(/\n$/, '').split('\n'));
      doc.lines.forEach((line, i) => {
        const m = ENV_LINE.exec(line);
        if (m) doc.index.set(m[1]!, i);
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
    const usedNow = new Map<string, KeySecret>();
    for (const e of sorted(entries)) {
      let name = envVarName(e.project, names.get(e)!);
      // Two different keys of this batch would land on one variable: keep both, the later one suffixed.
      const clash = usedNow.get(name);
      if (clash && clash.uuid !== e.uuid) name = `${name}_${e.uuid.replace(/[^A-Za-z0-9]/g, '').slice(0, 8).toUpperCase()}`;
      usedNow.set(name, e);
      const line = `${name}=${e.secret}`;
      const at = this.index.get(name);
      if (at !== undefined) {
        this.lines[at] = line;
      } else {
        const label = `${e.project}: ${e.description} (${e.uuid})`.replace(/[\r\n]+/g, ' ');
        this.lines.push(`# ${label}`, line);
        this.index.set(name, this.lines.length - 1);
      }
    }
    return this;
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
  mergeSecrets(readExisting(file), [], format, file);
  const dir = path.dirname(path.resolve(file));
  try {
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    await fsp.access(dir, fsConstants.W_OK);
  } catch (error) {
    throw new SecretsFileError(`cannot write ${file}: the directory ${dir} cannot be created or written (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** Merges `entries` into `file` (created if missing), atomically, mode 0600. */
export async function writeSecretsFile(file: string, entries: readonly KeySecret[], format: SecretsFormat): Promise<void> {
  await writeFileAtomic(file, mergeSecrets(readExisting(file), entries, format, file), 0o600, (m) => new SecretsFileError(m));
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
 * one write at a time; each `add` resolves once its secret is on disk (or rejects when it cannot be written).
 */
export class SecretSink {
  private pending: KeySecret[] = [];
  private draining: Promise<void> | undefined;
  private document: SecretsDocument | undefined;
  private stored = 0;

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
        // Read (and merged into) once; after that this sink's own last write is the file's content.
        this.document ??= SecretsDocument.parse(readExisting(this.file), this.format, this.file);
        this.document.merge(batch);
        await writeFileAtomic(this.file, this.document.render(), 0o600, (m) => new SecretsFileError(m));
        this.stored += batch.length;
      }
    } finally {
      this.draining = undefined;
    }
  }
}
