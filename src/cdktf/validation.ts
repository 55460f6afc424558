/**
 * Synth-time validation of the constructs with the YAML manifest's own validator (one JSON Schema, one set of
 * semantic rules): a project and its keys are turned into the manifest-shaped document they stand for, and
 * every diagnostic is routed back to the construct that declared the offending value, so `cdktf synth`
 * reports `[<construct path>] <message>` for each problem, all at once. Constructs have no file position: the
 * locator gives construct paths, so a message naming a second place names its construct.
 *
 * What the operator trusts (API origins, credential variables) is checked when the stack is read for plan and
 * apply (`--from-cdktf`); at synth only the shape of `apiUrl` and `credentialsEnv` is.
 */
import { TerraformStack } from 'cdktf';
import type { IConstruct } from 'constructs';
import type { Diagnostic } from '../errors';
import { validateManifestDocument } from '../manifest';
import { STACK_FILE_NAME } from '../manifest/cdktf/wire';
import { operatorTrust, originOf } from '../trust';
import type { ScaleflexApiKey } from './api-key';
import type { ScaleflexProject } from './project';

/** Messages for the project itself and for each of its keys. */
export interface ProjectValidation {
  readonly project: string[];
  readonly keys: Map<ScaleflexApiKey, string[]>;
}

/** Copies `value` without its `undefined` fields (the schema would see them as present). */
function defined(value: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

/** The manifest-shaped project entry the constructs stand for, with the fields as the user wrote them. */
function projectEntry(project: ScaleflexProject): Record<string, unknown> {
  const p = project.props;
  return defined({
    token: p.token,
    apiUrl: p.apiUrl,
    credentials: p.credentialsEnv === undefined ? undefined : { env: p.credentialsEnv },
    unmanaged: p.unmanaged,
    rotate: p.rotate,
    deliver: p.deliver,
    // Key props share the manifest's field names, so they go in as given: a misspelt field from plain
    // JavaScript is reported with the schema's "did you mean" like in YAML.
    keys: project.apiKeys.map((k) => defined(k.props)),
  });
}

/** Every `ScaleflexProject` of the stack, in construct order. */
function projectsOf(stack: TerraformStack, isProject: (c: IConstruct) => c is ScaleflexProject): ScaleflexProject[] {
  return stack.node.findAll().filter(isProject);
}

const cache = new WeakMap<ScaleflexProject, { signature: string; result: ProjectValidation }>();

/**
 * Validates `project` with its keys and permission sets. The stack's other projects are included as bare
 * `{ token, keys: [] }` entries so that the manifest's cross-project rules (unique tokens) apply too; their own
 * problems are left to their own validation. Memoized per stack shape: each key's validation asks again.
 */
export function validateProject(project: ScaleflexProject): ProjectValidation {
  const isProject = (c: IConstruct): c is ScaleflexProject =>
    (project.constructor as typeof ScaleflexProject).isScaleflexProject(c);
  const siblings = projectsOf(TerraformStack.of(project), isProject);
  const signature = `${project.apiKeys.length}|${JSON.stringify(siblings.map((s) => [s.node.path, s.props.token]))}`;
  const cached = cache.get(project);
  if (cached && cached.signature === signature) return cached.result;

  const index = siblings.indexOf(project);
  const keys = project.apiKeys;
  const doc = defined({
    version: 1,
    permissionSets: project.props.permissionSets,
    projects: siblings.map((s) => (s === project ? projectEntry(s) : { token: s.props.token, keys: [] })),
  });

  const ownerOf = (pointer: string): { construct: IConstruct; mine: boolean } => {
    const m = /^\/projects\/(\d+)(?:\/keys\/(\d+))?(?:\/|$)/.exec(pointer);
    if (!m) return { construct: project, mine: true };
    const p = Number(m[1]);
    if (p !== index) return { construct: siblings[p] ?? project, mine: false };
    const key = m[2] === undefined ? undefined : keys[Number(m[2])];
    return { construct: key ?? project, mine: true };
  };
  const locate = (pointer: string) => {
    const path = ownerOf(pointer).construct.node.path;
    // The rules take the manifest's file name from the root's location (a `file` sink may not name it): for a
    // stack that is cdk.tf.json, the base of `file` sinks. Every other location is a construct path only.
    return { file: pointer === '' ? STACK_FILE_NAME : '', line: 1, column: 1, construct: path };
  };
  const origin = typeof project.props.apiUrl === 'string' ? originOf(project.props.apiUrl) : undefined;
  const trust = operatorTrust({}, { allowApiUrl: origin ? [origin] : [], allowCredentialEnv: ['*'] });

  const { diagnostics } = validateManifestDocument(doc, locate, { trust });
  const result: ProjectValidation = { project: [], keys: new Map(keys.map((k) => [k, []])) };
  for (const d of diagnostics.filter((x: Diagnostic) => x.severity === 'error')) {
    const owner = ownerOf(d.path);
    if (!owner.mine) continue;
    const message = d.message;
    const list = owner.construct === project ? result.project : result.keys.get(owner.construct as ScaleflexApiKey);
    list?.push(message);
  }
  cache.set(project, { signature, result });
  return result;
}
