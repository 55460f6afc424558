/**
 * The fast path of reading a manifest (text -> plain value + locator), for the common, plain manifest: js-yaml
 * builds the value about ten times faster than the `yaml` Document API and with a fraction of its garbage, and its
 * `listener` events give each mapping's position. It answers only where it provably gives the value the precise
 * path (`yaml-document`) gives: plain scalars resolve through a copy of `yaml`'s YAML 1.2 core-schema rules, and
 * anything where the two parsers could differ — anchors, aliases, tags, block scalars, flow mappings, multi-line
 * scalars or flow lists, merge keys, explicit or non-scalar or very long keys, directives, document markers,
 * tabs, CR, a byte order mark, any js-yaml error (duplicate keys included) — makes it return undefined, and the
 * caller takes the precise path. It never reports anything itself: diagnostics come from the precise path only
 * (see `parseManifestText`), and so do positions other than mappings', computed lazily when asked for.
 * Loads neither `yaml` nor the precise path unless a position needs them.
 *
 * Before js-yaml, the line reader (`yaml-lines`) tries the block-style subset manifests are written in; js-yaml
 * (loaded only then) reads what it leaves.
 */
import type { LoadOptions, Schema, State } from 'js-yaml';
import type { SourceLocation } from '../model';
import type { Locator } from './diagnostics';
import { corePlainScalar, STRING } from './yaml-core';
import { readPlainManifest } from './yaml-lines';

export { corePlainScalar } from './yaml-core';

/** js-yaml and its schema, loaded on first use: most manifests are read by the line reader alone. */
let jsYaml: { load: typeof import('js-yaml').load; schema: Schema } | undefined;
function loadJsYaml(): NonNullable<typeof jsYaml> {
  if (jsYaml) return jsYaml;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { FAILSAFE_SCHEMA, load, Type } = require('js-yaml') as typeof import('js-yaml');
  // js-yaml's failsafe schema (strings, lists, mappings) plus one implicit type for the core schema's plain scalars.
  const schema = FAILSAFE_SCHEMA.extend({
    implicit: [
      new Type('tag:scaleflex-keys,2026:core-plain', {
        kind: 'scalar',
        resolve: (text: string) => corePlainScalar(text) !== STRING,
        construct: (text: string) => corePlainScalar(text),
      }),
    ],
  });
  jsYaml = { load, schema };
  return jsYaml;
}

/** Signals "take the precise path"; thrown from the listener, caught in `parseQuick` only. */
class NotPlain extends Error {}

/** The longest scalar taken here: `yaml` refuses implicit keys over 1024 characters. */
const MAX_SCALAR = 1024;
/** js-yaml's nesting limit here, below the precise path's 64 levels, so whatever that path refuses comes to it. */
const MAX_NESTING = 60;
/** Anything that may be written differently in the two parsers' eyes: whole-text checks, before parsing. */
const NOT_PLAIN_TEXT = /[\t\r\uFEFF\u0085\u2028\u2029]|<<|^(?:%|---|\.\.\.)/m;

const code = (c: string) => c.charCodeAt(0);
const SPACE = code(' ');
const NEWLINE = code('\n');
const HASH = code('#');
const OPEN_BRACKET = code('[');
const COLON = code(':');
/** Characters that may not start a node here: anchors, aliases, tags, block scalars, flow mappings, explicit keys, reserved. */
const NOT_PLAIN_START = new Uint8Array(128);
for (const c of '&*!|>{}?%@`#,]:') NOT_PLAIN_START[code(c)] = 1;

/** Offset of the first character at or after `i` that is not a space or a line break. */
function skipSpaces(text: string, i: number): number {
  for (let c = text.charCodeAt(i); c === SPACE || c === NEWLINE; c = text.charCodeAt(++i));
  return i;
}

/** Offset of the first character at or after `i` that is not a space, a line break or a comment. */
function skipFiller(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === SPACE || c === NEWLINE) i++;
    else if (c === HASH && (i === 0 || text.charCodeAt(i - 1) === SPACE || text.charCodeAt(i - 1) === NEWLINE)) {
      const end = text.indexOf('\n', i);
      if (end < 0) return text.length;
      i = end;
    } else return i;
  }
}

export interface QuickResult {
  value: Record<string, unknown>;
  locate: Locator;
  /** Every mapping key in the text, when the line reader read it (js-yaml's events do not say). */
  fieldNames?: ReadonlySet<string>;
}

/**
 * Reads plain manifest text, or returns undefined when the precise path must. `precise` gives the precise
 * path's locator; it is called at most once, the first time a position other than a mapping's is asked for.
 */
export function parseQuick(text: string, file: string, precise: () => Locator): QuickResult | undefined {
  if (NOT_PLAIN_TEXT.test(text)) return undefined;
  const lines = readPlainManifest(text);
  if (lines) return { value: lines.value, locate: quickLocator(text, file, lines.value, lines.mappings, precise), fieldNames: lines.fieldNames };
  const starts: number[] = [];
  /** Where each mapping starts (its first key, as the precise path reports it). */
  const mappings = new Map<object, number>();
  let flowDepth = 0;
  const listener = (event: 'open' | 'close', state: State): void => {
    if (event === 'open') {
      const start = skipFiller(text, state.position);
      const c = text.charCodeAt(start);
      if (c < 128 && NOT_PLAIN_START[c] === 1) throw new NotPlain();
      if (c === OPEN_BRACKET) flowDepth++;
      starts.push(start);
      return;
    }
    const start = starts.pop() as number;
    const end = state.position;
    const kind = state.kind;
    const flowList = kind === 'sequence' && text.charCodeAt(start) === OPEN_BRACKET;
    if (kind === 'scalar' || flowList) {
      if (end - start > MAX_SCALAR) throw new NotPlain();
      const newline = text.indexOf('\n', start);
      if (newline >= 0 && newline < end) throw new NotPlain();
      // `"x"#c`: js-yaml takes a comment that `yaml` refuses as not separated by white space.
      if (text.charCodeAt(end) === HASH && text.charCodeAt(end - 1) !== SPACE) throw new NotPlain();
    }
    if (flowList) flowDepth--;
    // js-yaml grows each list by pushing, which leaves room for 16 more items: a copy of the exact size is a
    // quarter of that, which matters at 100,000 keys of one-permission lists. The parent stores `state.result`
    // after this event, so it stores the copy.
    if (kind === 'sequence') state.result = (state.result as unknown[]).slice();
    // A flow list followed by `:` is a mapping key, which the two parsers turn into different strings; inside a
    // flow list, `a: b` is a mapping, which js-yaml builds without events.
    if ((flowList || flowDepth > 0) && text.charCodeAt(skipSpaces(text, end)) === COLON) throw new NotPlain();
    if (kind === 'mapping') {
      if (flowDepth > 0) throw new NotPlain();
      mappings.set(state.result as object, start);
    }
  };

  let value: unknown;
  try {
    const { load, schema } = loadJsYaml();
    value = load(text, { schema, listener, maxDepth: MAX_NESTING } as LoadOptions);
  } catch {
    // A js-yaml error, a NotPlain, or too deep: all are the precise path's to read and to report.
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  return { value: value as Record<string, unknown>, locate: quickLocator(text, file, value, mappings, precise) };
}

/** A locator that answers for mappings from the recorded offsets and asks the precise path for anything else. */
function quickLocator(text: string, file: string, root: unknown, mappings: Map<object, number>, precise: () => Locator): Locator {
  let lineStarts: Uint32Array | undefined;
  let lineCount = 0;
  let lastLine = 0;
  let fallback: Locator | undefined;
  const at = (offset: number): SourceLocation => {
    if (!lineStarts) {
      let count = 1;
      for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) count++;
      lineStarts = new Uint32Array(count);
      for (let i = text.indexOf('\n'), n = 1; i >= 0; i = text.indexOf('\n', i + 1)) lineStarts[n++] = i + 1;
      lineCount = count;
    }
    const starts = lineStarts;
    // Positions are mostly asked for in document order (one per key): look a few lines past the last answer first.
    let line = lastLine;
    if ((starts[line] as number) <= offset) {
      const stop = Math.min(line + 16, lineCount - 1);
      while (line < stop && (starts[line + 1] as number) <= offset) line++;
    }
    if ((starts[line] as number) > offset || (line + 1 < lineCount && (starts[line + 1] as number) <= offset)) {
      // The last line start at or before `offset`.
      let lo = 0;
      let hi = lineCount - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if ((starts[mid] as number) <= offset) lo = mid;
        else hi = mid - 1;
      }
      line = lo;
    }
    lastLine = line;
    return { file, line: line + 1, column: offset - (starts[line] as number) + 1 };
  };
  const child = (node: unknown, raw: string): unknown => {
    if (node === null || typeof node !== 'object') return undefined;
    if (Array.isArray(node)) {
      // Only a canonical index (`0`, `12`, not `012`); anything else is the precise locator's to answer.
      const index = Number(raw);
      return index >= 0 && index < node.length && Number.isInteger(index) && (raw === '0' || raw[0] !== '0') ? node[index] : undefined;
    }
    const segment = raw.includes('~') ? raw.replace(/~1/g, '/').replace(/~0/g, '~') : raw;
    return Object.prototype.hasOwnProperty.call(node, segment) ? (node as Record<string, unknown>)[segment] : undefined;
  };
  const lookup = (pointer: string): unknown => {
    if (pointer === '' || pointer === '/') return root;
    let node = root;
    for (const raw of pointer.slice(1).split('/')) node = child(node, raw);
    return node;
  };
  // Pointers come in runs under one parent (`/projects/0/keys/0`, `/projects/0/keys/1`, ...): the last parent is kept.
  let parentPointer: string | undefined;
  let parent: unknown;
  const locate: Locator = (pointer, where = 'value') => {
    if (where === 'value' && pointer.length > 1) {
      const cut = pointer.lastIndexOf('/');
      const head = pointer.slice(0, cut);
      if (head !== parentPointer) {
        parentPointer = head;
        parent = lookup(head);
      }
      const node = child(parent, pointer.slice(cut + 1));
      const offset = node !== null && typeof node === 'object' ? mappings.get(node) : undefined;
      if (offset !== undefined) return at(offset);
    } else if (where === 'value' && mappings.has(root as object)) {
      return at(mappings.get(root as object) as number);
    }
    fallback ??= precise();
    return fallback(pointer, where);
  };
  return Object.assign(locate, {
    mapping: (node: object): SourceLocation | undefined => {
      const offset = mappings.get(node);
      return offset === undefined ? undefined : at(offset);
    },
  });
}
