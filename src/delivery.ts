/**
 * Secret delivery, the pure part (manifest `deliver:`): the placeholders an `exec` sink's argv may carry, their
 * expansion, what a plan shows for a new key (`plannedDeliveries`), the environment an `exec` sink gets, and the
 * path and timeout checks the manifest rules share. Imports nothing of ours but types and the secret names, so the
 * manifest rules, the reconciler (plan building, rotation) and the CLI's sink runner all use one definition.
 * Nothing here ever sees a secret.
 */
import type { Delivery, DeliverySpec, KeySpec } from './model';
import { secretVariableName } from './secret-names';

/** The placeholders an `exec` argv may use. `{uuid}` is known only once the key exists. */
export const DELIVERY_PLACEHOLDERS: readonly string[] = Object.freeze(['project', 'description', 'name', 'uuid']);

/** An `exec` sink's timeout when the manifest gives none, and the range it may give (seconds). */
export const DEFAULT_EXEC_TIMEOUT_S = 60;
export const MIN_EXEC_TIMEOUT_S = 1;
export const MAX_EXEC_TIMEOUT_S = 3600;

/** `{word}` in an argv element; `{{` and `}}` are not special (no escaping is needed for the supported names). */
const PLACEHOLDER = /\{([^{}]*)\}/g;

/** What the placeholders stand for, for one key. `uuid` undefined: left as written (plans, before the create). */
export interface DeliveryContext {
  readonly project: string;
  readonly description: string;
  readonly uuid?: string;
}

/** The placeholders in `arg` that are not supported, in order of appearance. */
export function unknownPlaceholders(arg: string): string[] {
  return [...arg.matchAll(PLACEHOLDER)].map((m) => m[1]!).filter((name) => !DELIVERY_PLACEHOLDERS.includes(name));
}

/** `arg` with its placeholders replaced; `{uuid}` stays when the context has none, unknown ones stay as written. */
export function expandPlaceholders(arg: string, ctx: DeliveryContext): string {
  return arg.replace(PLACEHOLDER, (whole, name: string) => {
    switch (name) {
      case 'project':
        return ctx.project;
      case 'description':
        return ctx.description;
      case 'name':
        return secretVariableName(ctx.project, ctx.description);
      case 'uuid':
        return ctx.uuid ?? whole;
      default:
        return whole;
    }
  });
}

/** One sink as a plan shows it (or, with a uuid, as it runs). */
export function deliveryOf(spec: DeliverySpec, ctx: DeliveryContext): Delivery {
  return 'exec' in spec ? { kind: 'exec', argv: spec.exec.map((a) => expandPlaceholders(a, ctx)) } : { kind: 'file', path: spec.file };
}

/** Where the secret of the new key `spec` of `project` will be delivered, as its create change shows it. */
export function plannedDeliveries(project: string, spec: Pick<KeySpec, 'description' | 'deliver'>): Delivery[] {
  return (spec.deliver ?? []).map((d) => deliveryOf(d, { project, description: spec.description }));
}

/** The same deliveries, element by element (saved plans are compared with the manifest's). */
export function sameDeliveries(a: readonly Delivery[] | undefined, b: readonly Delivery[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((d, i) => JSON.stringify(d) === JSON.stringify(y[i]));
}

/** A delivery in one line, for plans and apply output: `exec gh secret set NAME (stdin)` / `file secrets/demo.env`. */
export function deliveryLine(d: Delivery): string {
  return d.kind === 'exec' ? `exec ${d.argv.map(shellWord).join(' ')} (stdin)` : `file ${shellWord(d.path)}`;
}

/** An argv element as a reader would type it: bare when safe, else JSON-quoted (no control characters survive). */
function shellWord(s: string): string {
  if (/^[A-Za-z0-9_@%+=:,./{}-]+$/.test(s)) return s;
  return JSON.stringify(s);
}

/** The environment variables that carry a key's metadata to an `exec` sink (never its secret). */
export const DELIVERY_ENV = Object.freeze({
  project: 'SCALEFLEX_KEY_PROJECT',
  uuid: 'SCALEFLEX_KEY_UUID',
  description: 'SCALEFLEX_KEY_DESCRIPTION',
  name: 'SCALEFLEX_KEY_NAME',
});

/** Variables passed from our environment to every `exec` sink, when set: what a CLI needs to find itself and run. */
export const DELIVERY_BASE_ENV: readonly string[] = Object.freeze(['PATH', 'HOME', 'LANG', 'LC_ALL', 'TMPDIR', 'TZ']);

/**
 * The environment of an `exec` sink: `DELIVERY_BASE_ENV`, the variables the operator passes on (`passEnv`: names or
 * `PREFIX*`, e.g. `GH_TOKEN,VAULT_*`), and the key's metadata. Never a `SCALEFLEX_*` variable of ours (admin keys
 * live there) nor one the operator allowed as a credential variable, whatever `passEnv` says.
 */
export function deliveryEnvironment(
  env: Readonly<Record<string, string | undefined>>,
  passEnv: readonly string[],
  ctx: Required<DeliveryContext>,
  credentialPatterns: readonly string[] = [],
): Record<string, string> {
  const matches = (name: string, patterns: readonly string[]) => patterns.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : name === p));
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (!DELIVERY_BASE_ENV.includes(name) && !matches(name, passEnv)) continue;
    if (name.startsWith('SCALEFLEX_') || matches(name, credentialPatterns)) continue;
    out[name] = value;
  }
  out[DELIVERY_ENV.project] = ctx.project;
  out[DELIVERY_ENV.uuid] = ctx.uuid;
  out[DELIVERY_ENV.description] = ctx.description;
  out[DELIVERY_ENV.name] = secretVariableName(ctx.project, ctx.description);
  return out;
}

/**
 * Why a `file` sink path may not be used, or undefined: it must be relative, stay inside the manifest's directory
 * tree, not be the manifest itself (`manifestBase`: the manifest's file name) and end in `.json` or `.env`.
 */
export function deliveryFileProblem(file: string, manifestBase?: string): string | undefined {
  const normalized = file.replace(/\\/g, '/');
  if (normalized.startsWith('/') || /^[A-Za-z]:/.test(normalized)) {
    return `deliver file ${JSON.stringify(file)} is an absolute path; give a path relative to the manifest, inside its directory (e.g. secrets/demo.env)`;
  }
  const parts: string[] = [];
  for (const part of normalized.split('/')) {
    if (part === '..') {
      if (parts.pop() === undefined) return `deliver file ${JSON.stringify(file)} leaves the manifest's directory; keep secrets files inside it (e.g. secrets/demo.env)`;
    } else if (part !== '' && part !== '.') parts.push(part);
  }
  if (parts.length === 0) return `deliver file ${JSON.stringify(file)} names a directory, not a file`;
  if (manifestBase !== undefined && parts.join('/') === manifestBase) return `deliver file ${JSON.stringify(file)} is the manifest itself; name a secrets file (e.g. secrets/demo.env)`;
  const base = parts[parts.length - 1]!.toLowerCase();
  const env = base === '.env' || base.endsWith('.env') || base.startsWith('.env.');
  if (!env && !base.endsWith('.json')) return `deliver file ${JSON.stringify(file)} must end in .json or .env (the format is chosen by the extension)`;
  return undefined;
}

/** The operator's environment variable that forbids (`deny`) or allows (`allow`, the default) `exec` sinks. */
export const DELIVERY_EXEC_VAR = 'SCALEFLEX_DELIVERY_EXEC';
/** The operator's environment variable naming variables (or `PREFIX*`) passed on to `exec` sinks, e.g. `GH_TOKEN`. */
export const DELIVERY_PASS_ENV_VAR = 'SCALEFLEX_DELIVERY_PASS_ENV';

/** What the operator (CI configuration, never the manifest) allows delivery to do. */
export interface DeliveryPolicy {
  /** Whether `exec` sinks may run. */
  readonly execAllowed: boolean;
  /** Why not, for messages (`SCALEFLEX_DELIVERY_EXEC=deny`, `--no-exec-sinks`). */
  readonly execDeniedBy?: string;
  /** Variables (names or `PREFIX*`) passed on to `exec` sinks beyond `DELIVERY_BASE_ENV`. */
  readonly passEnv: readonly string[];
}

/**
 * The operator's delivery settings from the environment and flags. `exec` sinks run programs the manifest names,
 * and the manifest comes from pull requests: an operator who does not review every `deliver:` change (or who runs
 * apply where a program must not get a fresh secret) switches them off here, outside the manifest. Either source
 * denies; the flag cannot re-allow what the variable denies. Returns a problem for a value it does not know.
 */
export function deliveryPolicy(
  env: Readonly<Record<string, string | undefined>>,
  flags: { execSinks?: boolean } = {},
): { policy: DeliveryPolicy; problem?: string } {
  const raw = env[DELIVERY_EXEC_VAR]?.trim().toLowerCase();
  const passEnv = Object.freeze(
    (env[DELIVERY_PASS_ENV_VAR] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  const problem =
    raw !== undefined && raw !== '' && raw !== 'deny' && raw !== 'allow'
      ? `${DELIVERY_EXEC_VAR}=${JSON.stringify(env[DELIVERY_EXEC_VAR])} is not understood: use deny or allow`
      : undefined;
  // An unknown value denies: a typo must not switch a safety setting off.
  const deniedBy = raw === 'deny' || problem ? `${DELIVERY_EXEC_VAR}=deny` : flags.execSinks === false ? '--no-exec-sinks' : undefined;
  return {
    policy: { execAllowed: deniedBy === undefined, ...(deniedBy ? { execDeniedBy: deniedBy } : {}), passEnv },
    ...(problem ? { problem } : {}),
  };
}
