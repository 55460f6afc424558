/**
 * A fast path for the common manifest: plain block mappings and sequences, one-line flow lists of scalars,
 * one-line plain or quoted scalars, comments. It reads yaml's concrete syntax tree (the `Parser`'s tokens)
 * straight into plain data and skips building yaml's Document, which is about a third of the parse time and
 * much of the garbage for a 10,000-key manifest. Anything else — anchors, aliases, tags, block scalars, flow
 * mappings, multi-line scalars, explicit or duplicate or non-string keys, tabs, odd indentation, any syntax
 * error — makes it return undefined, and `yaml-source` parses the text with the full Document API, which also
 * produces every diagnostic. A differential test checks that both paths agree wherever the fast one answers.
 */
import { CST, Document, isScalar, type LineCounter } from 'yaml';
import type { SourceLocation } from '../model';
import type { Locator } from './diagnostics';

type Token = CST.Token;
type Scalar = CST.FlowScalar;
type Source = CST.SourceToken;

/** Deepest nesting the fast path handles; deeper documents take the full path (which refuses them). */
const MAX_FAST_DEPTH = 64;

/** Signals "not for the fast path"; caught inside `parseFast` only. */
class NotSimple extends Error {}

const FILLER = new Set(['space', 'comment', 'newline']);

/** The core schema's scalar tags, in the order yaml tries them for plain scalars. */
const CORE_TAGS = new Document(null, { version: '1.2', schema: 'core' }).schema.tags.filter(
  (tag) => tag.default && tag.test !== undefined,
);

/** A plain scalar's value under the YAML 1.2 core schema, as yaml's composer would resolve it. */
function resolvePlain(text: string): unknown {
  for (const tag of CORE_TAGS) {
    if (tag.test?.test(text)) {
      let failed = false;
      const value = (tag.resolve as (s: string, onError: () => void, options: object) => unknown)(text, () => (failed = true), {});
      if (failed) throw new NotSimple();
      // Some tags (bool) wrap their value in a Scalar to remember how it was written.
      return isScalar(value) ? value.value : value;
    }
  }
  return text;
}

interface FastResult {
  value: Record<string, unknown>;
  locate: Locator;
}

/**
 * Reads the syntax tree `tokens` of `text` on the fast path, or returns undefined when the text needs the
 * full composer. `lineCounter` holds the line starts the parser recorded.
 */
export function parseFast(text: string, tokens: readonly Token[], file: string, lineCounter: LineCounter): FastResult | undefined {
  if (text.includes('\t') || text.includes('\r')) return undefined;
  let document: CST.Document | undefined;
  for (const token of tokens) {
    if (token.type === 'document' && document === undefined) document = token;
    else if (!FILLER.has(token.type) && token.type !== 'byte-order-mark') return undefined;
  }
  if (!document || document.value?.type !== 'block-map') return undefined;
  if (!document.start.every((t) => FILLER.has(t.type) || t.type === 'doc-start')) return undefined;
  if (!(document.end ?? []).every((t) => FILLER.has(t.type))) return undefined;

  const column = (offset: number) => lineCounter.linePos(offset).col;
  const commentsSeparated = (tokens: readonly Source[]) =>
    tokens.every((t) => t.type !== 'comment' || t.offset === 0 || /[ \n]/.test(text[t.offset - 1] ?? ''));
  const onlyFiller = (tokens: readonly Source[] | undefined) =>
    (tokens ?? []).every((t) => FILLER.has(t.type)) && commentsSeparated(tokens ?? []);

  const scalar = (token: Scalar): unknown => {
    if (token.source.includes('\n') || !onlyFiller(token.end)) throw new NotSimple();
    let failed = false;
    const resolved = CST.resolveAsScalar(token, true, () => (failed = true));
    if (failed || resolved === null) throw new NotSimple();
    return token.type === 'scalar' ? resolvePlain(resolved.value) : resolved.value;
  };

  const convert = (token: Token | undefined, depth: number): unknown => {
    if (token === undefined) return null;
    if (depth > MAX_FAST_DEPTH) throw new NotSimple();
    switch (token.type) {
      case 'scalar':
      case 'single-quoted-scalar':
      case 'double-quoted-scalar':
        return scalar(token);
      case 'block-map': {
        const obj: Record<string, unknown> = {};
        let keyColumn: number | undefined;
        for (const item of token.items) {
          const key = item.key;
          if (!key || (key.type !== 'scalar' && key.type !== 'single-quoted-scalar' && key.type !== 'double-quoted-scalar')) {
            throw new NotSimple();
          }
          if (!onlyFiller(item.start as Source[])) throw new NotSimple();
          const sep = (item.sep ?? []) as Source[];
          if (sep.filter((t) => t.type === 'map-value-ind').length !== 1 || !sep.every((t) => t.type === 'map-value-ind' || FILLER.has(t.type))) {
            throw new NotSimple();
          }
          if (!commentsSeparated(sep)) throw new NotSimple();
          const keyAt = column(key.offset);
          if (keyColumn !== undefined && keyAt !== keyColumn) throw new NotSimple();
          keyColumn = keyAt;
          const name = scalar(key);
          // Merge keys, non-string keys and duplicates are the full parser's business.
          if (typeof name !== 'string' || (key.type === 'scalar' && name === '<<') || Object.prototype.hasOwnProperty.call(obj, name)) {
            throw new NotSimple();
          }
          // A block collection as a mapping value must start on a later line (`a: b: c` is an error).
          if ((item.value?.type === 'block-map' || item.value?.type === 'block-seq') && !sep.some((t) => t.type === 'newline')) {
            throw new NotSimple();
          }
          if (key.source.length > 1024) throw new NotSimple();
          const value = convert(item.value, depth + 1);
          if (name === '__proto__') Object.defineProperty(obj, name, { value, writable: true, enumerable: true, configurable: true });
          else obj[name] = value;
        }
        return obj;
      }
      case 'block-seq': {
        let dashColumn: number | undefined;
        return token.items.map((item) => {
          const start = item.start as Source[];
          const dashes = start.filter((t) => t.type === 'seq-item-ind');
          if (item.key || item.sep || dashes.length !== 1 || !start.every((t) => t.type === 'seq-item-ind' || FILLER.has(t.type))) {
            throw new NotSimple();
          }
          if (!commentsSeparated(start)) throw new NotSimple();
          const dashAt = column((dashes[0] as Source).offset);
          if (dashColumn !== undefined && dashAt !== dashColumn) throw new NotSimple();
          dashColumn = dashAt;
          return convert(item.value, depth + 1);
        });
      }
      case 'flow-collection': {
        const end = token.end as Source[];
        if (token.start.type !== 'flow-seq-start' || end[0]?.type !== 'flow-seq-end' || !onlyFiller(end.slice(1))) throw new NotSimple();
        // One line only: multi-line flow collections have indentation rules of their own.
        if (text.slice(token.start.offset, end[0].offset).includes('\n')) throw new NotSimple();
        const values: unknown[] = [];
        token.items.forEach((item, i) => {
          const start = item.start as Source[];
          const commas = start.filter((t) => t.type === 'comma').length;
          if (item.key || item.sep || commas !== (i === 0 ? 0 : 1) || !start.every((t) => t.type === 'comma' || t.type === 'space')) {
            throw new NotSimple();
          }
          const value = item.value;
          if (!value) {
            // `[ ]` is an empty list; any other missing item (`[a, , b]`, `[a,]`) goes to the full parser.
            if (token.items.length === 1 && i === 0) return;
            throw new NotSimple();
          }
          if (value.type !== 'scalar' && value.type !== 'single-quoted-scalar' && value.type !== 'double-quoted-scalar') throw new NotSimple();
          values.push(scalar(value));
        });
        return values;
      }
      default:
        throw new NotSimple();
    }
  };

  let value: unknown;
  try {
    value = convert(document.value, 0);
  } catch (error) {
    if (error instanceof NotSimple || error instanceof RangeError) return undefined;
    throw error;
  }
  return { value: value as Record<string, unknown>, locate: makeFastLocator(document.value, file, lineCounter) };
}

/** The locator over the syntax tree: the same positions the full parser's locator gives. */
function makeFastLocator(root: Token, file: string, lineCounter: LineCounter): Locator {
  interface Step {
    node: Token | undefined;
    keyNode: Token | undefined;
    complete: boolean;
  }
  const at = (offset: number): SourceLocation => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col };
  };
  const keysOf = new Map<Token, Map<string, CST.CollectionItem>>();
  const itemsOf = new Map<Token, CST.CollectionItem[]>();
  const memo = new Map<string, Step>();
  const resolve = (pointer: string): Step => {
    const known = memo.get(pointer);
    if (known) return known;
    let step: Step;
    if (pointer === '') step = { node: root, keyNode: undefined, complete: true };
    else {
      const cut = pointer.lastIndexOf('/');
      const parent = resolve(pointer.slice(0, Math.max(cut, 0)));
      const segment = pointer.slice(cut + 1).replace(/~1/g, '/').replace(/~0/g, '~');
      const container = parent.node;
      step = { ...parent, complete: false };
      if (parent.complete && container?.type === 'block-map') {
        let keys = keysOf.get(container);
        if (!keys) {
          keys = new Map();
          for (const item of container.items) {
            const resolved = item.key ? CST.resolveAsScalar(item.key as Scalar) : null;
            if (resolved) keys.set(resolved.value, item);
          }
          keysOf.set(container, keys);
        }
        const item = keys.get(segment);
        if (item) step = { node: item.value, keyNode: item.key ?? undefined, complete: item.value !== undefined };
      } else if (parent.complete && (container?.type === 'block-seq' || container?.type === 'flow-collection')) {
        let items = itemsOf.get(container);
        if (!items) {
          // `[ ]` has one item without a value; it is not an element.
          items = container.items.filter((item) => item.value !== undefined);
          itemsOf.set(container, items);
        }
        const item = items[Number(segment)];
        if (item?.value) step = { node: item.value, keyNode: undefined, complete: true };
      }
    }
    memo.set(pointer, step);
    return step;
  };
  return (pointer, where = 'value') => {
    const { node, keyNode } = resolve(pointer === '/' ? '' : pointer);
    if (keyNode && (where === 'key' || node === undefined)) return at(keyNode.offset);
    if (node) return at(node.type === 'flow-collection' ? node.start.offset : node.offset);
    return { file, line: 1, column: 1 };
  };
}
