/**
 * The precise path of reading a manifest (text -> plain value + locator + every YAML diagnostic), with the `yaml`
 * package's Document API and a LineCounter: YAML 1.2 core schema (so `yes` is a string), duplicate keys are
 * errors, one document per file, merge keys (`<<`) allowed. Alias expansion is budgeted before anything is
 * materialised, so an alias bomb is refused in linear time instead of exhausting memory. `yaml-source` sends
 * here whatever the fast path (`yaml-quick`) does not take, and loads this module (and `yaml`) only then.
 */
import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node as YamlNode,
  Composer,
  Parser,
  type ParsedNode,
  type Pair,
  visit,
  type Alias,
  type YAMLMap,
} from 'yaml';
import type { Diagnostic } from '../errors';
import type { SourceLocation } from '../model';
import { errorAt, fileError, type Locator, where } from './diagnostics';
import { MAX_DEPTH, MAX_EXPANDED_NODES, type ParsedYaml } from './yaml-source';

type Doc = Document.Parsed;

class RefusedDocument extends Error {
  constructor(
    readonly node: YamlNode | undefined,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Parses manifest text that passed `yaml-source`'s checks (size, binary, empty) with the full Document API.
 * Never throws for bad input: every problem becomes a diagnostic.
 */
export function parseYamlDocument(text: string, file: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const at = (offset: number): SourceLocation => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col };
  };
  const fallback: Locator = () => ({ file, line: 1, column: 1 });
  const fail = (diagnostics: Diagnostic[]): ParsedYaml => ({ locate: fallback, diagnostics });

  let docs: Doc[];
  try {
    const tokens = new Parser(lineCounter.addNewLine).parse(text);
    docs = [
      ...new Composer({ version: '1.2', schema: 'core', uniqueKeys: true, merge: true, prettyErrors: false }).compose(tokens),
    ] as Doc[];
  } catch (error) {
    return fail([fileError(file, refusal(error))]);
  }
  if (docs.length === 0) {
    return fail([fileError(file, 'the manifest is empty (only comments); it needs at least `version: 1` and `projects:`')]);
  }

  const diagnostics: Diagnostic[] = [];
  const doc = docs[0] as Doc;
  if (docs.length > 1) {
    const second = docs[1] as Doc;
    diagnostics.push(
      errorAt(
        at(second.range[0]),
        `a manifest holds one YAML document, but a second one starts here (${docs.length} in all); ` +
          'remove the `---` separator or split the file',
        '',
      ),
    );
  }
  const overflow = doc.errors.find((e) => /call stack/i.test(e.message));
  if (overflow) {
    // yaml records a stack overflow once per unwound level; one message is enough.
    diagnostics.push(errorAt(at(overflow.pos[0]), `the document is nested too deeply to read (a manifest needs about 6 levels)`, ''));
  } else {
    for (const error of doc.errors) {
      diagnostics.push(errorAt(at(error.pos[0]), yamlErrorMessage(doc, error.code, error.message, error.pos[0], at), ''));
    }
  }
  for (const warning of doc.warnings) {
    diagnostics.push({ ...errorAt(at(warning.pos[0]), `YAML: ${warning.message}`, ''), severity: 'warning' });
  }
  let aliasTargets = new Map<Alias, YamlNode | undefined>();
  try {
    // An alias needs a `*`; most manifests have none and skip the alias pass.
    if (text.includes('*')) aliasTargets = resolveAliases(doc);
  } catch (error) {
    return fail([...diagnostics, fileError(file, refusal(error))]);
  }
  const locate = makeLocator(doc, aliasTargets, file, at);
  // Duplicate keys and a second document leave the first document readable: read on, so that the schema and
  // the rules report their problems in the same run. Anything else means the value cannot be trusted.
  const readable = !overflow && doc.errors.every((e) => e.code === 'DUPLICATE_KEY');
  if (!readable && diagnostics.some((d) => d.severity === 'error')) return { locate, diagnostics };

  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null && root.range[0] === root.range[1])) {
    return { locate, diagnostics: [...diagnostics, fileError(file, 'the manifest is empty; it needs at least `version: 1` and `projects:`')] };
  }
  if (!isMap(root)) {
    const got = isSeq(root) ? 'a list' : isAlias(root) ? 'an alias' : `the scalar ${JSON.stringify(String(root.source ?? ''))}`.slice(0, 80);
    return {
      locate,
      diagnostics: [
        ...diagnostics,
        errorAt(at(root.range[0]), `the manifest's root must be a mapping (with \`version: 1\` and \`projects:\`), not ${got}`, ''),
      ],
    };
  }

  try {
    if (aliasTargets.size > 0) checkExpansion(root, aliasTargets);
    return { value: toPlainValue(root, aliasTargets), locate, diagnostics };
  } catch (error) {
    const node = error instanceof RefusedDocument ? error.node : undefined;
    const loc = node?.range ? at(node.range[0]) : { file, line: 1, column: 1 };
    return { locate, diagnostics: [...diagnostics, errorAt(loc, refusal(error), '')] };
  }
}

function refusal(error: unknown): string {
  if (error instanceof RefusedDocument) return error.message;
  if (error instanceof RangeError) return `the document is nested too deeply to read (over ${MAX_DEPTH} levels)`;
  return `the YAML cannot be read: ${error instanceof Error ? error.message : String(error)}`;
}

function yamlErrorMessage(
  doc: Doc,
  code: string,
  message: string,
  offset: number,
  at: (offset: number) => SourceLocation,
): string {
  if (code === 'DUPLICATE_KEY') {
    const dup = findDuplicateKey(doc, offset);
    if (dup) {
      const first = at(dup.first);
      return `duplicate key "${dup.name}": it is already set at ${where(first)} in this mapping`;
    }
    return 'duplicate key: a mapping may set each key once';
  }
  if (code === 'BAD_ALIAS' || /unresolved alias/i.test(message)) return `YAML: ${message} (an alias *name needs an anchor &name before it)`;
  return `invalid YAML: ${message}`;
}

/** Finds the mapping whose key starts at `offset` and the earlier key with the same name. */
function findDuplicateKey(doc: Doc, offset: number): { name: string; first: number } | undefined {
  let found: { name: string; first: number } | undefined;
  const visitNode = (node: unknown, depth: number): void => {
    if (found || depth > MAX_DEPTH || !node) return;
    if (isMap(node)) {
      const seen = new Map<string, number>();
      for (const pair of node.items) {
        const key = pair.key as ParsedNode | null;
        if (key && isScalar(key) && key.range) {
          const name = String(key.value);
          const first = seen.get(name);
          if (key.range[0] === offset && first !== undefined) {
            found = { name, first };
            return;
          }
          if (first === undefined) seen.set(name, key.range[0]);
        }
        visitNode(pair.value, depth + 1);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) visitNode(item, depth + 1);
    }
  };
  visitNode(doc.contents, 0);
  return found;
}

/**
 * Maps every alias to the node it refers to: the last node anchored with its name before it, in document
 * order. One pass; yaml's own `Alias.resolve(doc)` walks the whole document per alias, which is quadratic
 * for a manifest where 10,000 keys share one anchored list.
 */
function resolveAliases(doc: Doc): Map<Alias, YamlNode | undefined> {
  const anchors = new Map<string, YamlNode>();
  const targets = new Map<Alias, YamlNode | undefined>();
  visit(doc, {
    Node: (_key, node) => {
      if (isAlias(node)) targets.set(node, anchors.get(node.source));
      else if (node.anchor) anchors.set(node.anchor, node);
    },
  });
  return targets;
}

/** Counts the nodes the document expands to (aliases counted as copies), refusing bombs and deep nesting. */
function checkExpansion(root: YamlNode, aliasTargets: Map<Alias, YamlNode | undefined>): void {
  const sizes = new Map<YamlNode, number>();
  const inProgress = new Set<YamlNode>();
  const size = (node: unknown, depth: number): number => {
    if (!node || typeof node !== 'object') return 1;
    const n = node as YamlNode;
    if (depth > MAX_DEPTH) throw new RefusedDocument(n, `the document is nested more than ${MAX_DEPTH} levels deep`);
    const known = sizes.get(n);
    if (known !== undefined) return known;
    let total = 1;
    if (isAlias(n)) {
      const target = aliasTargets.get(n);
      if (!target) {
        throw new RefusedDocument(n, `alias *${n.source} has no anchor: define &${n.source} on a node before this alias`);
      }
      if (inProgress.has(target)) throw new RefusedDocument(n, `alias *${n.source} refers to a node that contains it`);
      inProgress.add(target);
      total += size(target, depth + 1);
      inProgress.delete(target);
    } else if (isMap(n) || isSeq(n)) {
      inProgress.add(n);
      for (const item of n.items as unknown[]) {
        total += isPair(item) ? size(item.key, depth + 1) + size(item.value, depth + 1) : size(item, depth + 1);
        if (total > MAX_EXPANDED_NODES) {
          const culprit = (isPair(item) ? item.value : item) as YamlNode;
          throw new RefusedDocument(
            culprit,
            `aliases expand this document to more than ${MAX_EXPANDED_NODES.toLocaleString('en-US')} nodes; ` +
              'refused as a possible alias bomb ("billion laughs")',
          );
        }
      }
      inProgress.delete(n);
    }
    sizes.set(n, total);
    return total;
  };
  size(root, 0);
}

/**
 * The document as plain data, like yaml's `doc.toJS()` (aliases share the anchored value, `<<` merges do not
 * override explicit keys, the first merged source wins) but with aliases resolved through `aliasTargets`:
 * yaml's own `toJS` scans every earlier alias for each alias, a second after 10,000 keys that share an anchor.
 * The expansion budget has already been checked, so this cannot blow up.
 */
function toPlainValue(root: YamlNode, aliasTargets: Map<Alias, YamlNode | undefined>): unknown {
  const shared = new Map<YamlNode, unknown>();
  const setKey = (obj: Record<string, unknown>, key: string, value: unknown) => {
    // A `__proto__` key must be data, not the object's prototype.
    if (key === '__proto__') Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
    else obj[key] = value;
  };
  const convert = (node: unknown, depth = 0): unknown => {
    if (node === null || node === undefined) return null;
    if (depth > MAX_DEPTH) throw new RefusedDocument(node as YamlNode, `the document is nested more than ${MAX_DEPTH} levels deep`);
    if (isAlias(node)) {
      const target = aliasTargets.get(node);
      if (!target) return null;
      if (!shared.has(target)) shared.set(target, convert(target, depth + 1));
      return shared.get(target);
    }
    if (isScalar(node)) return node.value;
    if (isSeq(node)) return node.items.map((item) => convert(item, depth + 1));
    if (isMap(node)) {
      const obj: Record<string, unknown> = {};
      const merged: Record<string, unknown>[] = [];
      for (const pair of node.items) {
        const key = pair.key as unknown;
        if (isScalar(key) && typeof key.value === 'symbol') {
          const source = isSeq(pair.value) ? pair.value.items : [pair.value];
          for (const item of source) {
            const value = convert(item, depth + 1);
            if (value !== null && typeof value === 'object' && !Array.isArray(value)) merged.push(value as Record<string, unknown>);
          }
          continue;
        }
        const name = isScalar(key) ? String(key.value) : key === null ? '' : JSON.stringify(convert(key, depth + 1));
        setKey(obj, name, convert(pair.value, depth + 1));
      }
      for (const source of merged) {
        for (const [k, v] of Object.entries(source)) if (!Object.prototype.hasOwnProperty.call(obj, k)) setKey(obj, k, v);
      }
      return obj;
    }
    return null;
  };
  return convert(root);
}

/** Builds the locator that maps a JSON pointer to the YAML node it came from. */
function makeLocator(
  doc: Doc,
  aliasTargets: Map<Alias, YamlNode | undefined>,
  file: string,
  at: (offset: number) => SourceLocation,
): Locator {
  const deref = (node: unknown): unknown => (isAlias(node) ? aliasTargets.get(node) : node);
  const findPair = (map: YAMLMap, name: string, depth: number): Pair | undefined => {
    if (depth > MAX_DEPTH) return undefined;
    for (const pair of map.items) {
      if (isScalar(pair.key) && typeof pair.key.value !== 'symbol' && String(pair.key.value) === name) return pair as Pair;
    }
    // Keys brought in by merge keys (`<<: *defaults`) live in the merged mapping(s).
    for (const pair of map.items) {
      if (isScalar(pair.key) && typeof pair.key.value === 'symbol') {
        const source = deref(pair.value);
        const sources = isSeq(source) ? source.items.map(deref) : [source];
        for (const s of sources) {
          const hit = isMap(s) ? findPair(s, name, depth + 1) : undefined;
          if (hit) return hit;
        }
      }
    }
    return undefined;
  };

  /** What a pointer resolves to; `complete` is false when the walk stopped early (the deepest node found). */
  interface Step {
    node: unknown;
    keyNode: unknown;
    complete: boolean;
  }
  // Pointers share prefixes (`/projects/0/keys/N`), so each prefix is resolved once.
  const memo = new Map<string, Step>();
  const resolve = (pointer: string): Step => {
    const known = memo.get(pointer);
    if (known) return known;
    let step: Step;
    if (pointer === '') step = { node: doc.contents, keyNode: undefined, complete: true };
    else {
      const cut = pointer.lastIndexOf('/');
      const parent = resolve(pointer.slice(0, Math.max(cut, 0)));
      const segment = pointer.slice(cut + 1).replace(/~1/g, '/').replace(/~0/g, '~');
      const container = deref(parent.node);
      step = { ...parent, complete: false };
      if (parent.complete && isMap(container)) {
        const pair = findPair(container, segment, 0);
        if (pair) {
          const value = pair.value;
          step = value === null || value === undefined
            ? { node: undefined, keyNode: pair.key, complete: false }
            : { node: value, keyNode: pair.key, complete: true };
        }
      } else if (parent.complete && isSeq(container)) {
        const item = container.items[Number(segment)];
        if (item !== undefined) step = { node: item, keyNode: undefined, complete: true };
      }
    }
    memo.set(pointer, step);
    return step;
  };

  return (pointer, where = 'value') => {
    const { node, keyNode } = resolve(pointer === '/' ? '' : pointer);
    const rangeOf = (n: unknown): [number, number, number] | undefined =>
      n && typeof n === 'object' && 'range' in n ? ((n as YamlNode).range ?? undefined) : undefined;
    const keyRange = rangeOf(keyNode);
    const valueRange = rangeOf(node);
    const emptyValue = !valueRange || (isScalar(node) && node.value === null && valueRange[0] === valueRange[1]);
    if (keyRange && (where === 'key' || emptyValue)) return at(keyRange[0]);
    if (valueRange) return at(valueRange[0]);
    return { file, line: 1, column: 1 };
  };
}
