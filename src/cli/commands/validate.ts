/**
 * `scaleflex-keys validate [-f FILE | --from-cdktf FILE] [--format text|json|github]`: checks a manifest
 * against the schema and the semantic rules and reports every problem at once. Exit 0 valid, 1 invalid
 * (2, a usage error, comes from the command line parser). Loads neither undici nor cdktf.
 */
import { formatDiagnostics, readDesiredState } from '../../manifest';
import { operatorTrust } from '../../trust';
import type { ValidateFlags } from '../arguments/validate';
import { EXIT } from '../exit-codes';
import type { Io } from '../io';
import { pastExpiryWarnings } from '../../reconcile/rotation';
import { evaluatePolicy, findingDiagnostics, loadPolicy } from '../../policy';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Runs `validate`; resolves to the exit code. */
export async function run(flags: ValidateFlags, io: Io): Promise<number> {
  const format = flags.format;
  // What the operator allows comes from the environment and flags, never from the manifest (src/trust.ts).
  const reading = readDesiredState(
    { ...(flags.file !== undefined ? { file: flags.file } : {}), ...(flags.fromCdktf !== undefined ? { fromCdktf: flags.fromCdktf } : {}), cwd: io.cwd },
    { trust: operatorTrust(io.env, { allowApiUrl: flags.allowApiUrl, allowCredentialEnv: flags.allowCredentialEnv }) },
  );
  const errors = reading.diagnostics.filter((d) => d.severity === 'error').length;
  const valid = reading.state !== undefined && errors === 0;
  // The policy (the manifest's `policy:` and `--policy FILE`) is evaluated on a valid desired state only.
  let policyErrors = 0;
  if (valid && reading.state) {
    // A past `expires` is a legitimate way to switch a key off: a warning, never an error.
    reading.diagnostics.push(...pastExpiryWarnings(reading.state, new Date()));
    const rules = loadPolicy({ cwd: io.cwd, ...(flags.policy !== undefined ? { policyFile: flags.policy } : {}), manifestRules: reading.policy ?? [] });
    // No rules (the common case): nothing to evaluate, not even a walk over every key.
    const findings = rules.length === 0 ? [] : findingDiagnostics(evaluatePolicy(reading.state, rules, { now: new Date() }), reading.file);
    policyErrors = findings.filter((d) => d.severity === 'error').length;
    reading.diagnostics.push(...findings);
  }

  const verdict = (): string => {
    if (!valid || !reading.state) return `${reading.file}: invalid (${plural(errors, 'problem')})\n`;
    const keys = reading.state.projects.reduce((n, p) => n + p.keys.length, 0);
    const warnings = reading.diagnostics.length - errors - policyErrors;
    if (policyErrors > 0) return `${reading.file}: valid, but the policy refuses it (${plural(policyErrors, 'policy error')})\n`;
    return (
      `${reading.file}: valid (${plural(reading.state.projects.length, 'project')}, ${plural(keys, 'key')}` +
      `${warnings > 0 ? `, ${plural(warnings, 'warning')}` : ''})\n`
    );
  };
  if (format === 'text') {
    // Problems go to stderr, like a compiler's; the one-line verdict on success goes to stdout.
    io.err(formatDiagnostics(reading.diagnostics, 'text'));
    if (valid && policyErrors === 0) io.out(verdict());
    else io.err(verdict());
  } else {
    io.out(formatDiagnostics(reading.diagnostics, format));
    // Annotations do not show in a workflow's log; the verdict on stderr does.
    if (format === 'github') io.err(verdict());
  }
  if (!valid) return EXIT.ERROR;
  return policyErrors > 0 ? EXIT.POLICY : EXIT.OK;
}
