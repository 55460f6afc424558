/**
 * `scaleflex-keys import --project T [--out FILE]`: lists the live keys of each named project and writes them
 * as a manifest (see `src/manifest/dump.ts`): sorted, commented with uuid and creation date, no secrets, and
 * planning empty. `--out` never destroys a manifest: an existing file is refused unless `--merge` (edit it in place,
 * keeping its other projects and comments) or `--force` (replace it); the write is atomic. Otherwise stdout.
 * The `$schema` modeline points at the schema where a consumer has it (`node_modules/scaleflex-keys/schemas/`),
 * relative to the written file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ScaleflexKeysError, UsageError } from '../../errors';
import { writeFileAtomic } from '../../atomic-file';
import { EXIT } from '../exit-codes';
import { runBounded } from '../../bounded';
import { importManifest, mergeImport, type ImportedProject } from '../../manifest/dump';
import type { Io } from '../io';
import type { ImportFlags } from '../arguments/import';
import { projectErrorLines } from '../output';
import { ApiSession, listAll, openAhead, READ_FOR_IMPORT } from '../session';
import { formatDiagnostics, parseManifestText } from '../../manifest';

const SCHEMA_IN_PACKAGE = path.join('node_modules', 'scaleflex-keys', 'schemas', 'scaleflex-keys.schema.json');

/**
 * The modeline's `$schema` for a manifest in `dir`: the nearest installed copy of the package's schema at or above
 * `dir`, else the one `npm install -D scaleflex-keys` will put next to the working directory; always relative.
 */
function schemaRefFor(dir: string, cwd: string): string {
  let base = cwd;
  for (let d = dir; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, SCHEMA_IN_PACKAGE))) {
      base = d;
      break;
    }
    if (path.dirname(d) === d) break;
  }
  const rel = path.relative(dir, path.join(base, SCHEMA_IN_PACKAGE)).split(path.sep).join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

/** Reads the manifest `--merge` edits; refuses (before any request) one that is not a valid manifest. */
async function readMergeTarget(full: string, file: string): Promise<string> {
  let text: string;
  try {
    text = fs.readFileSync(full, 'utf8');
  } catch (error) {
    throw new ScaleflexKeysError(`cannot read ${file} to merge into it: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
      hint: 'without --merge, import writes a new file',
    });
  }
  const problems = parseManifestText(text, file).diagnostics.filter((d) => d.severity === 'error');
  if (problems.length > 0) {
    throw new ScaleflexKeysError(`${file} is not a valid manifest, so nothing was merged into it:\n${formatDiagnostics(problems, 'text').trimEnd()}`, {
      hint: `fix it (scaleflex-keys validate -f ${file}), or replace it with --force`,
    });
  }
  return text;
}

/** Runs `import`; resolves to the exit code (0, or 1 when a project cannot be read). */
export async function run(opts: ImportFlags, io: Io): Promise<number> {
  const tokens = [...opts.project];
  const outPath = opts.out === undefined ? undefined : path.resolve(io.cwd, opts.out);
  const exists = outPath !== undefined && fs.existsSync(outPath);
  if (exists && !opts.merge && !opts.force) {
    throw new UsageError(`${opts.out} already exists; import does not overwrite a manifest`, {
      hint: `add --merge to add or replace the imported projects in it (keeping the rest), or --force to replace the whole file`,
    });
  }
  // The file to merge into is checked before any request: validate before touching the network.
  const mergeInto = exists && opts.merge ? await readMergeTarget(outPath!, opts.out!) : undefined;
  const session = await ApiSession.start(io, opts, tokens);
  let settled: PromiseSettledResult<ImportedProject>[];
  try {
    settled = await runBounded(tokens, openAhead(opts.parallelism), async (token) => {
      const api = await session.open({ token }, session.resolve({ token }), READ_FOR_IMPORT);
      return { token, keys: await listAll(api), selfUuid: api.selfKey.uuid };
    });
  } finally {
    await session.close();
  }

  const failed = settled.flatMap((r, i) => (r.status === 'rejected' ? [{ token: tokens[i]!, error: r.reason as unknown }] : []));
  for (const f of failed) io.err(projectErrorLines(f.token, f.error));
  if (failed.length > 0) {
    io.err('Nothing was written: every project must be readable.\n');
    return EXIT.ERROR;
  }
  const projects = settled.map((r) => (r as PromiseFulfilledResult<ImportedProject>).value);
  const schemaRef = schemaRefFor(outPath === undefined ? io.cwd : path.dirname(outPath), io.cwd);
  const text = mergeInto === undefined ? importManifest(projects, { schemaRef }) : mergeImport(mergeInto, projects, { schemaRef });
  // The promise is that the manifest validates: check it with the validator itself before handing it out.
  const problems = parseManifestText(text, opts.out ?? 'imported manifest').diagnostics.filter((d) => d.severity === 'error');
  if (problems.length > 0) {
    throw new ScaleflexKeysError(`the imported manifest does not validate, so it was not written:\n${formatDiagnostics(problems, 'text').trimEnd()}`, {
      hint: 'this is a bug in scaleflex-keys import; please report it with the messages above (they hold no secret)',
    });
  }
  const keys = projects.reduce((n, p) => n + p.keys.length, 0);
  if (opts.out !== undefined) {
    await writeFileAtomic(outPath!, text, 0o644, (m) => new ScaleflexKeysError(m));
    const verb = mergeInto === undefined ? 'Wrote' : 'Merged';
    io.err(`${verb} ${keys} key${keys === 1 ? '' : 's'} of ${tokens.join(', ')} ${mergeInto === undefined ? 'to' : 'into'} ${opts.out}; check it with: scaleflex-keys plan -f ${opts.out}\n`);
  } else {
    io.out(text);
  }
  return EXIT.OK;
}
