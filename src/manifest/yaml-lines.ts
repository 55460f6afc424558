/**
 * The fastest tier of reading a manifest (text -> plain value + where each mapping starts), for the block-style
 * subset that manifests are written in: block mappings with plain keys, block lists, and on one line each plain
 * or quoted (without escapes) scalars and flow lists of them. A line-by-line reader: about ten times faster than
 * js-yaml with its listener, and allocating little beyond the value itself. Anything outside that subset, or any
 * doubt — multi-line scalars, odd indentation, duplicate keys, keys that are not plain strings, indicators, escapes,
 * comments not separated by a space, very long scalars, deep nesting, non-printable characters — and it returns
 * undefined: `yaml-quick` then tries js-yaml, and the precise path (`yaml-document`) reads what js-yaml does not
 * take. Plain scalars resolve with `corePlainScalar`, as on the js-yaml tier. It never reports anything.
 */
import { corePlainScalar, STRING } from './yaml-core';

/** Thrown inside the reader for "not the subset"; caught in `readPlainManifest` only. */
class NotSubset extends Error {}
const notSubset = (): never => {
  throw new NotSubset();
};

const SPACE = 0x20;
const NEWLINE = 0x0a;
const HASH = 0x23;
const COLON = 0x3a;
const DASH = 0x2d;
const DOUBLE_QUOTE = 0x22;
const SINGLE_QUOTE = 0x27;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const BACKSLASH = 0x5c;

/** Longest scalar or key taken here (`yaml` refuses implicit keys over 1024 characters). */
const MAX_SCALAR = 1024;
/** Deepest nesting taken here; a manifest is 6 levels deep. */
const MAX_NESTING = 60;
/** Characters that may not start a value here (indicators: sequences, anchors, tags, block scalars, flow mappings...). */
const NOT_VALUE_START = new Uint8Array(128);
for (const c of '-?:,]{}#&*!|>%@`') NOT_VALUE_START[c.charCodeAt(0)] = 1;
/** Characters a plain key may have; the first must be a letter or `_`. */
const KEY_CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) if (/[A-Za-z0-9_.-]/.test(String.fromCharCode(c))) KEY_CHAR[c] = 1;
const isKeyStart = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
/** Characters that end or complicate a plain item of a flow list; the reader leaves those lists to js-yaml. */
const FLOW_STOP = new Uint8Array(128);
for (const c of ',[]{}#:') FLOW_STOP[c.charCodeAt(0)] = 1;
/** Anything either parser might treat specially: control and non-characters, surrogates, other line breaks. */
const NOT_SUBSET_TEXT = /[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\x7f-\x9f\ufeff\ufffe\uffff\ud800-\udfff\u2028\u2029]|\t|<<|^(?:%|---|\.\.\.)/m;

type Obj = Record<string, unknown>;

class Reader {
  /** Start of the next line not yet read. */
  private pos = 0;
  /** The content line found by `peek`: its start, its end (the `\n` or the text's end) and its indentation. */
  private lineStart = 0;
  private lineEnd = 0;
  private indent = 0;
  private peekedAt = -1;
  private peeked = false;
  readonly mappings = new Map<object, number>();
  /** Every mapping key in the text: the rules skip what concerns fields a manifest never names. */
  readonly fieldNames = new Set<string>();
  /**
   * Plain items of flow lists, by text: permission and set names repeat on every key, and one string each instead
   * of one per key is megabytes less at 100,000 keys.
   */
  private readonly flowItems = new Map<string, unknown>();
  /** Keys already accepted, by length: compared in place, so a repeated key is never cut out of the text again. */
  private readonly knownKeys: string[][] = [];

  constructor(private readonly text: string) {}

  /** Finds the next line with content (skipping blank and comment lines); false at the end of the text. */
  private peek(): boolean {
    if (this.peekedAt === this.pos) return this.peeked;
    const text = this.text;
    const n = text.length;
    let i = this.pos;
    while (i < n) {
      let j = i;
      while (text.charCodeAt(j) === SPACE) j++;
      const c = text.charCodeAt(j);
      if (j >= n) break;
      if (c === NEWLINE) {
        i = j + 1;
        continue;
      }
      if (c === HASH) {
        const end = text.indexOf('\n', j);
        i = end < 0 ? n : end + 1;
        continue;
      }
      this.pos = i;
      this.lineStart = i;
      this.indent = j - i;
      const end = text.indexOf('\n', j);
      this.lineEnd = end < 0 ? n : end;
      this.peekedAt = i;
      this.peeked = true;
      return true;
    }
    this.pos = n;
    this.peekedAt = n;
    this.peeked = false;
    return false;
  }

  /** Moves past the line found by `peek`. */
  private consume(): void {
    this.pos = this.lineEnd + 1;
  }

  readDocument(): Obj {
    if (!this.peek() || this.indent !== 0) notSubset();
    const root = this.mapping(0, this.lineStart, 1);
    if (this.peek()) notSubset();
    return root;
  }

  /** The block node whose first line, at `indent`, `peek` has found. */
  private block(indent: number, depth: number): unknown {
    if (depth > MAX_NESTING) notSubset();
    const at = this.lineStart + indent;
    if (this.text.charCodeAt(at) === DASH) return this.sequence(indent, depth);
    return this.mapping(indent, at, depth);
  }

  /** A block mapping at column `indent`, whose first key starts at offset `first` on the current line. */
  private mapping(indent: number, first: number, depth: number): Obj {
    const text = this.text;
    const map: Obj = {};
    this.mappings.set(map, first);
    let at = first;
    for (;;) {
      // The key: plain, a string under the core schema, not `__proto__`, followed by `:` and a space or the line end.
      const lineEnd = this.lineEnd;
      if (!isKeyStart(text.charCodeAt(at))) notSubset();
      let k = at + 1;
      for (let c = text.charCodeAt(k); c < 128 && KEY_CHAR[c] === 1; c = text.charCodeAt(++k));
      if (text.charCodeAt(k) !== COLON || k - at > MAX_SCALAR) notSubset();
      const afterColon = text.charCodeAt(k + 1);
      if (k + 1 < lineEnd && afterColon !== SPACE) notSubset();
      const key = this.key(at, k);
      if (Object.prototype.hasOwnProperty.call(map, key)) notSubset();
      let v = k + 1;
      while (v < lineEnd && text.charCodeAt(v) === SPACE) v++;
      if (v === lineEnd || text.charCodeAt(v) === HASH) {
        // Nothing after the colon: a nested block on the lines below, or null.
        this.consume();
        if (this.peek() && this.indent > indent) map[key] = this.block(this.indent, depth + 1);
        else {
          // A list at the key's own indentation is valid YAML, but left to js-yaml.
          if (this.peeked && this.indent === indent && text.charCodeAt(this.lineStart + indent) === DASH) notSubset();
          map[key] = null;
        }
      } else {
        map[key] = this.inline(v, lineEnd);
        this.consume();
      }
      if (!this.peek() || this.indent < indent) return map;
      // Deeper: a multi-line scalar or an error, both js-yaml's (or the precise path's) to read.
      if (this.indent > indent) notSubset();
      at = this.lineStart + indent;
    }
  }

  /** The plain key from `at` to `end`: a string under the core schema, and not `__proto__`. */
  private key(at: number, end: number): string {
    const length = end - at;
    const known = (this.knownKeys[length] ??= []);
    for (const candidate of known) if (this.text.startsWith(candidate, at)) return candidate;
    const key = this.text.slice(at, end);
    if (key === '__proto__' || corePlainScalar(key) !== STRING) notSubset();
    this.fieldNames.add(key);
    if (known.length < 8) known.push(key);
    return key;
  }

  /** A block list whose items start with `- ` at column `indent`. */
  private sequence(indent: number, depth: number): unknown[] {
    const text = this.text;
    const items: unknown[] = [];
    for (;;) {
      const lineEnd = this.lineEnd;
      const dash = this.lineStart + indent;
      if (text.charCodeAt(dash) !== DASH || text.charCodeAt(dash + 1) !== SPACE) notSubset();
      let v = dash + 2;
      while (v < lineEnd && text.charCodeAt(v) === SPACE) v++;
      // An empty item or one that opens another list: valid, but left to js-yaml.
      if (v === lineEnd || text.charCodeAt(v) === HASH || text.charCodeAt(v) === DASH) notSubset();
      if (this.startsEntry(v, lineEnd)) {
        if (depth + 1 > MAX_NESTING) notSubset();
        items.push(this.mapping(v - this.lineStart, v, depth + 1));
      } else {
        items.push(this.inline(v, lineEnd));
        this.consume();
      }
      if (!this.peek() || this.indent < indent) break;
      if (this.indent > indent) notSubset();
    }
    // Exactly the size needed: a list grown by pushing keeps room for more.
    return items.slice();
  }

  /** Whether the text at `v` is `key:` followed by a space or the line end (a mapping entry). */
  private startsEntry(v: number, lineEnd: number): boolean {
    const text = this.text;
    if (!isKeyStart(text.charCodeAt(v))) return false;
    let k = v + 1;
    for (let c = text.charCodeAt(k); c < 128 && KEY_CHAR[c] === 1; c = text.charCodeAt(++k));
    return text.charCodeAt(k) === COLON && (k + 1 === lineEnd || text.charCodeAt(k + 1) === SPACE);
  }

  /** A value on one line, from `v` (not a space) to the line end: a quoted or plain scalar or a flow list. */
  private inline(v: number, lineEnd: number): unknown {
    const text = this.text;
    const c = text.charCodeAt(v);
    if (c === DOUBLE_QUOTE || c === SINGLE_QUOTE) {
      const close = this.quotedEnd(v, lineEnd);
      this.trailing(close + 1, lineEnd);
      return text.slice(v + 1, close);
    }
    if (c === OPEN_BRACKET) return this.flowList(v, lineEnd);
    if (c < 128 && NOT_VALUE_START[c] === 1) notSubset();
    // A plain scalar ends at a comment (` #`) or the line end; it may hold `:` only when no space follows it.
    // (Scans stay within the line: `indexOf` would run on through the text for what a line does not hold.)
    let end = v;
    let colonSpace = false;
    for (; end < lineEnd; end++) {
      const d = text.charCodeAt(end);
      if (d === HASH && text.charCodeAt(end - 1) === SPACE) break;
      if (d === COLON && (end + 1 === lineEnd || text.charCodeAt(end + 1) === SPACE)) colonSpace = true;
    }
    while (text.charCodeAt(end - 1) === SPACE) end--;
    if (colonSpace || end - v > MAX_SCALAR) notSubset();
    return plainValue(text.slice(v, end));
  }

  /** The offset of the quote closing the quoted scalar at `v`, on this line, with no escapes inside. */
  private quotedEnd(v: number, lineEnd: number): number {
    const text = this.text;
    const quote = text.charCodeAt(v);
    let close = v + 1;
    for (; close < lineEnd; close++) {
      const d = text.charCodeAt(close);
      if (d === quote) break;
      // An escape (double quotes) is left to js-yaml.
      if (d === BACKSLASH && quote === DOUBLE_QUOTE) notSubset();
    }
    if (close >= lineEnd || close - v > MAX_SCALAR) notSubset();
    // `''` inside single quotes is an escaped quote, also left to js-yaml.
    if (quote === SINGLE_QUOTE && text.charCodeAt(close + 1) === SINGLE_QUOTE) notSubset();
    return close;
  }

  /** After a quoted scalar or a flow list: only spaces, then the line end or a comment after a space. */
  private trailing(i: number, lineEnd: number): void {
    const text = this.text;
    const start = i;
    while (i < lineEnd && text.charCodeAt(i) === SPACE) i++;
    if (i === lineEnd) return;
    if (text.charCodeAt(i) !== HASH || i === start) notSubset();
  }

  /** `[a, "b", 'c']` on one line: plain items without flow indicators, or quoted ones without escapes. */
  private flowList(v: number, lineEnd: number): unknown[] {
    const text = this.text;
    const items: unknown[] = [];
    let i = v + 1;
    while (i < lineEnd && text.charCodeAt(i) === SPACE) i++;
    if (text.charCodeAt(i) === CLOSE_BRACKET) {
      this.trailing(i + 1, lineEnd);
      return [];
    }
    for (;;) {
      if (i >= lineEnd) notSubset();
      const c = text.charCodeAt(i);
      if (c === DOUBLE_QUOTE || c === SINGLE_QUOTE) {
        const close = this.quotedEnd(i, lineEnd);
        items.push(text.slice(i + 1, close));
        i = close + 1;
      } else {
        if (c < 128 && NOT_VALUE_START[c] === 1) notSubset();
        let end = i;
        for (let d = text.charCodeAt(end); end < lineEnd && !(d < 128 && FLOW_STOP[d] === 1); d = text.charCodeAt(++end));
        if (end >= lineEnd) notSubset();
        let last = end;
        while (text.charCodeAt(last - 1) === SPACE) last--;
        if (last - i > MAX_SCALAR) notSubset();
        const item = text.slice(i, last);
        let value = this.flowItems.get(item);
        if (value === undefined && !this.flowItems.has(item)) {
          value = plainValue(item);
          this.flowItems.set(item, value);
        }
        items.push(value);
        i = end;
      }
      while (i < lineEnd && text.charCodeAt(i) === SPACE) i++;
      const sep = text.charCodeAt(i);
      if (sep === CLOSE_BRACKET) break;
      if (sep !== COMMA) notSubset();
      i++;
      while (i < lineEnd && text.charCodeAt(i) === SPACE) i++;
      // A trailing comma (`[a, ]`) is valid, but left to js-yaml.
      if (text.charCodeAt(i) === CLOSE_BRACKET) notSubset();
    }
    this.trailing(i + 1, lineEnd);
    return items.length === 1 ? [items[0]] : items.slice();
  }
}

/** A plain scalar's value under the YAML 1.2 core schema. */
function plainValue(text: string): unknown {
  const value = corePlainScalar(text);
  return value === STRING ? text : value;
}

/**
 * Reads manifest text in the subset described above: the value and, for each mapping, the offset of its first
 * key (what the precise path reports as its position), and every mapping key it holds. Undefined when the text is
 * not in the subset.
 */
export function readPlainManifest(text: string): { value: Obj; mappings: Map<object, number>; fieldNames: ReadonlySet<string> } | undefined {
  if (NOT_SUBSET_TEXT.test(text)) return undefined;
  const reader = new Reader(text);
  try {
    return { value: reader.readDocument(), mappings: reader.mappings, fieldNames: reader.fieldNames };
  } catch (error) {
    if (error instanceof NotSubset) return undefined;
    throw error;
  }
}
