/**
 * The second stage of reading a manifest: text -> plain value + a locator (JSON pointer -> file:line:col) +
 * YAML diagnostics. Refuses what cannot be a manifest (too large, binary, empty), then takes the fast path
 * (`yaml-quick`: the line reader `yaml-lines`, then js-yaml, for plain manifests) or the precise one
 * (`yaml-document`, the `yaml` Document API, which produces every YAML diagnostic). js-yaml, and the precise path
 * with `yaml`, are loaded only when needed.
 */
import type { Diagnostic } from '../errors';
import { fileError, type Locator } from './diagnostics';
import { MAX_MANIFEST_BYTES } from './read-source';
import { parseQuick } from './yaml-quick';

/** Most nodes a manifest may expand to through aliases (10,000 keys need about 150,000). */
export const MAX_EXPANDED_NODES = 2_000_000;
/** Deepest nesting accepted; a real manifest is 6 levels deep. */
export const MAX_DEPTH = 64;

export interface ParsedYaml {
  /** The document as plain data; absent when the text is not a usable YAML mapping. */
  value?: unknown;
  locate: Locator;
  diagnostics: Diagnostic[];
  /**
   * True when the fast path read the text: the value is exact and so is every position, but YAML warnings
   * were not looked for. A caller that finds a problem re-reads with `fastPath: false` to report it.
   */
  quick?: boolean;
  /** Every mapping key in the text, when the reader collected them (see `RuleOptions.fieldNames`). */
  fieldNames?: ReadonlySet<string>;
}

/** The precise path, loaded on first use. */
function precise(text: string, file: string): ParsedYaml {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parseYamlDocument } = require('./yaml-document') as typeof import('./yaml-document');
  return parseYamlDocument(text, file);
}

/**
 * Parses manifest text. Never throws for bad input: every problem becomes a diagnostic.
 * `fastPath: false` forces the precise path (the differential test compares the two).
 */
export function parseYamlManifest(text: string, file: string, options: { fastPath?: boolean } = {}): ParsedYaml {
  const fail = (diagnostics: Diagnostic[]): ParsedYaml => ({ locate: () => ({ file, line: 1, column: 1 }), diagnostics });
  if (Buffer.byteLength(text, 'utf8') > MAX_MANIFEST_BYTES) {
    return fail([fileError(file, 'the text is larger than the 10 MB a manifest may be')]);
  }
  if (text.includes('\u0000')) return fail([fileError(file, 'this is binary data (it contains NUL bytes), not a YAML manifest')]);
  if (text.trim() === '') return fail([fileError(file, 'the manifest is empty; it needs at least `version: 1` and `projects:`')]);
  if (options.fastPath !== false) {
    const quick = parseQuick(text, file, () => precise(text, file).locate);
    if (quick) return { value: quick.value, locate: quick.locate, diagnostics: [], quick: true, fieldNames: quick.fieldNames };
  }
  return precise(text, file);
}
