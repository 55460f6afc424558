/**
 * Reads the policy in force for a run: the rules of a `--policy FILE` (YAML: `policy: [...]`, the same shape as
 * the manifest's top level) plus the manifest's own `policy:`, each rule with its file:line:col. The one part of
 * `src/policy/` that touches the file system; evaluation (`./evaluate`) stays pure.
 */
import * as path from 'node:path';
import { ManifestError, type Diagnostic } from '../errors';
import { formatDiagnostics } from '../manifest/format';
import { readManifestFile } from '../manifest/read-source';
import { parseYamlManifest } from '../manifest/yaml-source';
import { isRecord } from '../compare';
import { combinePolicies, parsePolicy, type PolicyRule } from './rules';

function fail(file: string, diagnostics: readonly Diagnostic[]): never {
  const errors = diagnostics.filter((d) => d.severity === 'error');
  throw new ManifestError(errors, `${file} is invalid (${errors.length} problem${errors.length === 1 ? '' : 's'}):\n${formatDiagnostics(errors, 'text').trimEnd()}`);
}

/** Parses policy text from `file`: a mapping with a `policy:` list and nothing else. Throws ManifestError. */
export function parsePolicyText(text: string, file: string, origin: 'file' | 'manifest'): readonly PolicyRule[] {
  const parsed = parseYamlManifest(text, file);
  if (parsed.value === undefined || parsed.diagnostics.some((d) => d.severity === 'error')) fail(file, parsed.diagnostics);
  const doc = parsed.value;
  if (origin === 'file') {
    const extra = isRecord(doc) ? Object.keys(doc).filter((k) => k !== 'policy') : [];
    const problems: Diagnostic[] = extra.map((k) => {
      const loc = parsed.locate(`/${k}`, 'key');
      return { ...loc, severity: 'error' as const, message: `a policy file holds only \`policy:\`; ${JSON.stringify(k)} belongs in the manifest`, path: `/${k}` };
    });
    if (!isRecord(doc) || doc.policy === undefined) {
      problems.push({ file, line: 1, column: 1, severity: 'error', message: 'a policy file is a mapping with a `policy:` list of rules', path: '' });
    }
    if (problems.length > 0) fail(file, problems);
  }
  const result = parsePolicy(isRecord(doc) ? doc.policy : undefined, '/policy', parsed.locate, origin);
  if (result.diagnostics.length > 0) fail(file, result.diagnostics);
  return result.rules;
}

/**
 * The rules for `validate`, `plan` and `audit`: `--policy FILE`'s (if given), then the manifest's. The manifest's
 * come either already parsed (`manifestRules`: what `loadDesiredReading` returned from its one parse) or from
 * `manifestFile`, read here (the base manifest of `plan --base`). A synthesized CDKTF stack carries no policy.
 * See `combinePolicies` for why a manifest rule can never relax a file rule.
 */
export function loadPolicy(opts: {
  cwd: string;
  policyFile?: string;
  manifestFile?: string;
  manifestRules?: readonly PolicyRule[];
}): readonly PolicyRule[] {
  const read = (file: string, origin: 'file' | 'manifest'): readonly PolicyRule[] => {
    const r = readManifestFile(path.resolve(opts.cwd, file), file);
    if (r.text === undefined) fail(file, r.diagnostics);
    // A manifest that never mentions `policy` has none: no need to parse it (a large one costs seconds).
    if (origin === 'manifest' && !/policy/.test(r.text)) return [];
    return parsePolicyText(r.text, file, origin);
  };
  const fromFile = opts.policyFile !== undefined ? read(opts.policyFile, 'file') : [];
  const fromManifest = opts.manifestRules ?? (opts.manifestFile !== undefined ? read(opts.manifestFile, 'manifest') : []);
  return combinePolicies(fromFile, fromManifest);
}
