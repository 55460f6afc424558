/**
 * `scaleflex-keys import --project T [--out FILE]`: lists the live keys of each named project and writes them
 * as a manifest (see `../import-manifest`): sorted, commented with uuid and creation date, no secrets, and
 * planning empty. `--out` replaces the file atomically (it is an explicit request); otherwise stdout.
 */
import * as path from 'node:path';
import { ScaleflexKeysError } from '../../errors';
import { writeFileAtomic } from '../../atomic-file';
import { EXIT } from '../exit-codes';
import { runBounded } from '../../bounded';
import { importManifest, type ImportedProject } from '../import-manifest';
import type { Io } from '../io';
import type { ImportFlags } from '../arguments/import';
import { projectErrorLines } from '../output';
import { ApiSession, listAll, READ_FOR_IMPORT } from '../session';

/** Runs `import`; resolves to the exit code (0, or 1 when a project cannot be read). */
export async function run(opts: ImportFlags, io: Io): Promise<number> {
  const tokens = [...opts.project];
  const session = await ApiSession.start(io, opts, tokens);
  let settled: PromiseSettledResult<ImportedProject>[];
  try {
    settled = await runBounded(tokens, opts.parallelism, async (token) => {
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
  const text = importManifest(projects);
  // The promise is that the manifest validates: check it with the validator itself before handing it out.
  const { parseManifestText, formatDiagnostics } = await import('../../manifest');
  const problems = parseManifestText(text, opts.out ?? 'imported manifest').diagnostics.filter((d) => d.severity === 'error');
  if (problems.length > 0) {
    throw new ScaleflexKeysError(`the imported manifest does not validate, so it was not written:\n${formatDiagnostics(problems, 'text').trimEnd()}`, {
      hint: 'this is a bug in scaleflex-keys import; please report it with the messages above (they hold no secret)',
    });
  }
  const keys = projects.reduce((n, p) => n + p.keys.length, 0);
  if (opts.out !== undefined) {
    await writeFileAtomic(path.resolve(io.cwd, opts.out), text, 0o644, (m) => new ScaleflexKeysError(m));
    io.err(`Wrote ${keys} key${keys === 1 ? '' : 's'} of ${tokens.join(', ')} to ${opts.out}; check it with: scaleflex-keys plan -f ${opts.out}\n`);
  } else {
    io.out(text);
  }
  return EXIT.OK;
}
