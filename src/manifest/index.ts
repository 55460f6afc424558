/**
 * The manifest stage of the pipeline: a YAML manifest (or a synthesized CDKTF stack, through
 * `./cdktf/reader`) becomes a validated, frozen DesiredState, or a list of diagnostics that each point at
 * the offending node. Never imports cdktf or undici, so `validate` stays light.
 *
 * Stages: bytes -> text (`read-source`), text -> value + positions (`yaml-source`), value -> schema
 * problems (`schema-check`) + semantic problems (`rules`), value -> DesiredState (`rules`).
 */
import * as path from 'node:path';
import { type Diagnostic, ManifestError, UsageError } from '../errors';
import type { DesiredState, SourceLocation } from '../model';
import { operatorTrust, type OperatorTrust } from '../trust';
import { isRecord } from '../compare';
import { parsePolicy, type PolicyRule } from '../policy/rules';
import { formatDiagnostics } from './format';
import { fileError, hasErrors, type Locator, maskDiagnostics, sortDiagnostics } from './diagnostics';
import { readManifestFile } from './read-source';
import { buildDesiredState, checkRules } from './rules';
import { schemaDiagnostics } from './schema-check';
import { type ParsedYaml, parseYamlManifest } from './yaml-source';

export { formatDiagnostics, type DiagnosticFormat } from './format';
export { MAX_MANIFEST_BYTES } from './read-source';
export { MANIFEST_SCHEMA } from './schema-check';
export type { Locator } from './diagnostics';
export type { ManifestCredentials, ManifestDelivery, ManifestDocument, ManifestKey, ManifestProject } from './document';

/** The manifest file used when neither a file nor a CDKTF stack is named. */
export const DEFAULT_MANIFEST_FILE = 'scaleflex-keys.yaml';

/** What the manifest layer takes from outside the manifest; it never reads `process.env` itself. */
export interface ManifestOptions {
  /**
   * What the operator allows: API origins and credential variables a manifest may name. Default
   * `operatorTrust({})`: the official API, loopback and `SCALEFLEX_*` variables only.
   */
  readonly trust?: OperatorTrust;
  /** `false` reads YAML on the precise path only (the differential test compares both paths). Default true. */
  readonly fastPath?: boolean;
}

function trustOf(options: ManifestOptions | undefined): OperatorTrust {
  return options?.trust ?? operatorTrust({});
}

/** The outcome of validating a manifest: the state when there is no error, and every diagnostic. */
export interface ManifestResult {
  state?: DesiredState;
  /** The manifest's own `policy:` rules, from the same parse (with `state`; none for a CDKTF stack). */
  policy?: readonly PolicyRule[];
  diagnostics: Diagnostic[];
}

function unexpected(file: string, error: unknown): ManifestResult {
  // Bad input must never surface as a stack trace; anything that slips through the checks lands here.
  const detail = error instanceof Error ? error.message : String(error);
  return { diagnostics: [fileError(file, `the manifest could not be read: ${detail}`)] };
}

/** Every result leaves through here: secrets are masked in every message, whatever the format. */
function masked<T extends ManifestResult>(result: T): T {
  return { ...result, diagnostics: maskDiagnostics(result.diagnostics) };
}

/**
 * Validates a manifest-shaped value with a locator that can also point at mapping keys (unknown fields).
 * Runs the schema and the semantic rules together, so one run reports every problem. `fieldNames`, when the reader
 * collected them, lets the rules skip fields the document never names.
 */
export function validateLocatedDocument(doc: unknown, locate: Locator, options?: ManifestOptions, fieldNames?: ReadonlySet<string>): ManifestResult {
  const rules = checkRules(doc, locate, { trust: trustOf(options), fieldNames });
  const superseded = [...rules.superseded];
  const schema = schemaDiagnostics(doc, locate, (pointer) =>
    superseded.some((s) => pointer === s || pointer.startsWith(`${s}/`)),
  );
  const diagnostics = sortDiagnostics([...schema, ...rules.diagnostics]);
  if (hasErrors(diagnostics) || !isRecord(doc)) return { diagnostics: maskDiagnostics(diagnostics) };
  // The rules come from this parse, so no command reads the manifest a second time for its policy.
  const policy = doc.policy === undefined ? [] : parsePolicy(doc.policy, '/policy', locate, 'manifest').rules;
  return { state: buildDesiredState(doc, locate), policy, diagnostics: maskDiagnostics(diagnostics) };
}

/**
 * Validates an already-parsed manifest-shaped object (used by the CDKTF path). `locate` maps a JSON pointer
 * (e.g. `/projects/0/keys/1/permissions/0`) to where it came from. Never throws for bad input.
 */
export function validateManifestDocument(
  doc: unknown,
  locate: (pointer: string) => SourceLocation,
  options?: ManifestOptions,
): ManifestResult {
  try {
    return validateLocatedDocument(doc, (pointer) => locate(pointer), options);
  } catch (error) {
    return masked(unexpected(locate('').file, error));
  }
}

/**
 * Parses and validates manifest text (schema and semantic rules). Never throws for bad input.
 * A plain manifest is read on the fast path; if anything is to be reported (an error or a warning), the text is
 * read again on the precise path, so that every diagnostic comes from it exactly as if there were no fast path.
 */
export function parseManifestText(text: string, file: string, options?: ManifestOptions): ManifestResult {
  try {
    const parsed = parseYamlManifest(text, file, { fastPath: options?.fastPath });
    const result = validateYaml(parsed, options);
    if (parsed.quick && result.diagnostics.length > 0) return masked(validateYaml(parseYamlManifest(text, file, { fastPath: false }), options));
    return masked(result);
  } catch (error) {
    return masked(unexpected(file, error));
  }
}

function validateYaml(parsed: ParsedYaml, options: ManifestOptions | undefined): ManifestResult {
  if (parsed.value === undefined) return { diagnostics: sortDiagnostics(parsed.diagnostics) };
  const result = validateLocatedDocument(parsed.value, parsed.locate, options, parsed.fieldNames);
  const diagnostics = sortDiagnostics([...parsed.diagnostics, ...result.diagnostics]);
  return hasErrors(diagnostics) ? { diagnostics } : { ...result, diagnostics };
}

/** What `readDesiredState` read: the name shown in diagnostics, the state when valid, every diagnostic. */
export interface DesiredStateReading extends ManifestResult {
  file: string;
}

/**
 * Reads and validates the desired state from `file` (default `scaleflex-keys.yaml`, relative to `cwd`)
 * or from a synthesized CDKTF stack. Returns warnings too; throws only UsageError (both sources named).
 */
export function readDesiredState(opts: { file?: string; fromCdktf?: string; cwd: string }, options?: ManifestOptions): DesiredStateReading {
  if (opts.file !== undefined && opts.fromCdktf !== undefined) {
    throw new UsageError('-f/--file and --from-cdktf are alternatives: name a manifest or a synthesized stack, not both');
  }
  if (opts.fromCdktf !== undefined) {
    const file = opts.fromCdktf;
    const target = path.isAbsolute(file) || path.resolve(file) === path.resolve(opts.cwd, file) ? file : path.resolve(opts.cwd, file);
    // Loaded only here: most runs read YAML and never need the CDKTF reader.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { readCdktfStack } = require('./cdktf/reader') as {
      readCdktfStack(file: string, options?: ManifestOptions): { state?: DesiredState; diagnostics: Diagnostic[] };
    };
    try {
      return masked({ file, ...readCdktfStack(target, options) });
    } catch (error) {
      return masked({ file, ...unexpected(file, error) });
    }
  }
  const file = opts.file ?? DEFAULT_MANIFEST_FILE;
  const read = readManifestFile(path.resolve(opts.cwd, file), file);
  if (read.text === undefined) return masked({ file, diagnostics: read.diagnostics });
  return { file, ...parseManifestText(read.text, file, options) };
}

/**
 * Reads the desired state from `-f FILE` (default scaleflex-keys.yaml in cwd) or `--from-cdktf FILE`
 * (delegates to `readCdktfStack` in ./cdktf/reader, loaded lazily). Throws ManifestError with every diagnostic.
 */
export function loadDesiredState(opts: { file?: string; fromCdktf?: string; cwd: string }, options?: ManifestOptions): DesiredState {
  return loadDesiredReading(opts, options).state;
}

/** `loadDesiredState`, keeping the manifest's own policy rules (empty for a CDKTF stack) from the same parse. */
export function loadDesiredReading(
  opts: { file?: string; fromCdktf?: string; cwd: string },
  options?: ManifestOptions,
): { state: DesiredState; policy: readonly PolicyRule[] } {
  const reading = readDesiredState(opts, options);
  if (reading.state === undefined || hasErrors(reading.diagnostics)) {
    const errors = reading.diagnostics.filter((d) => d.severity === 'error');
    const shown = errors.length > 0 ? errors : [fileError(reading.file, 'the desired state could not be read')];
    // The message carries every problem, so a command that only prints the message still reports them all.
    throw new ManifestError(
      shown,
      `${reading.file} is invalid (${shown.length} problem${shown.length === 1 ? '' : 's'}):\n` +
        formatDiagnostics(shown, 'text').trimEnd(),
    );
  }
  return { state: reading.state, policy: reading.policy ?? [] };
}
