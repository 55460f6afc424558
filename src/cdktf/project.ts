/**
 * `ScaleflexProject`: one Scaleflex project whose API keys a CDKTF stack declares. It synthesizes a
 * `null_resource` that depends on its keys' resources, whose triggers hold only project-level data (token, API
 * URL, credential variable name, unmanaged policy, and the sorted names of its key resources), with
 * `lifecycle.replace_triggered_by` listing its key resources: editing one key changes that key's triggers only,
 * and Terraform replaces the project's resource because a key resource it references was replaced. Adding or
 * removing a key changes the project's own triggers (`replace_triggered_by` does not fire on a create).
 * Each replacement runs its create-time `local-exec`:
 *
 *   scaleflex-keys apply --from-cdktf <this stack's cdk.tf.json> --project <token> --auto-approve
 *
 * the same reconciler the YAML front end uses. It has no destroy-time provisioner: each `ScaleflexApiKey`
 * deactivates its own key when Terraform destroys it (see `api-key.ts`).
 *
 * The synthesized JSON holds no secret: the admin key is referenced by environment variable name only.
 */
import { Construct } from 'constructs';
import { Lazy, TerraformProvider, TerraformStack, dependable } from 'cdktf';
import { NullProvider } from '@cdktf/provider-null/lib/provider';
import { Resource } from '@cdktf/provider-null/lib/resource';
import {
  escapeTerraformTemplate,
  KIND_TRIGGER,
  PROJECT_KIND,
  PROJECT_TRIGGER,
  projectSpecJson,
  SPEC_TRIGGER,
  STACK_FILE_NAME,
  type SynthesizedProjectSettings,
  type SynthesizedProjectSpec,
} from '../manifest/cdktf/wire';
import type { UnmanagedPolicy } from '../model';
import type { ScaleflexApiKey } from './api-key';
import type { DeliverySink, Rotation } from './lifecycle';
import type { Permission } from './permission';
import { validateProject } from './validation';

/** What a `ScaleflexProject` declares; the fields of a YAML manifest's project entry, plus how Terraform runs the tool. */
export interface ScaleflexProjectProps {
  /** The Scaleflex project token (lowercase letters, digits, hyphens); unique within the stack. */
  readonly token: string;
  /**
   * The project's API base URL. Default: the `SCALEFLEX_API_URL` environment variable when the provisioner
   * runs, else `https://api.filerobot.com`.
   */
  readonly apiUrl?: string;
  /**
   * The name of the environment variable that holds the project's admin key when Terraform runs the
   * provisioners — never the key itself. Default: `SCALEFLEX_API_KEY_<TOKEN>` (upper case, `-` as `_`), then
   * `SCALEFLEX_API_KEY`.
   */
  readonly credentialsEnv?: string;
  /**
   * What to do with live keys that no `ScaleflexApiKey` of this project declares: `'deactivate'` (the default)
   * or `'ignore'`.
   */
  readonly unmanaged?: UnmanagedPolicy;
  /**
   * Named, reusable permission lists that this project's keys can reference by name in their
   * `permissionSets` (the YAML manifest's top-level `permissionSets`).
   */
  readonly permissionSets?: Readonly<Record<string, readonly Permission[]>>;
  /**
   * The command the provisioners run, inserted verbatim into the shell command line. Default
   * `scaleflex-keys` (on `PATH`); for example `npx scaleflex-keys` when it is a dependency of the CDKTF app.
   */
  readonly cliCommand?: string;
  /**
   * Where the create-time `apply` writes the secrets of keys it creates (`--secrets-out`: `.json` or `.env`,
   * mode 0600, merged); relative to the directory Terraform runs in (`cdktf.out/stacks/<stack>/` under cdktf),
   * so prefer an absolute path. Default: none; fetch them later with `scaleflex-keys secrets pull`. A path, never
   * a secret.
   */
  readonly secretsOut?: string;
  /**
   * Rotate every key of the project with overlap (`{ every: '90d', overlap: '7d' }`), unless the key has its own
   * `rotate`; keys pinned by `uuid` do not inherit it. See `ScaleflexApiKeyProps.rotate`.
   */
  readonly rotate?: Rotation;
  /**
   * Where the secret of each new key of this project goes, unless the key has its own `deliver` (a key's
   * `deliver: []` sends it nowhere but `--secrets-out`). A `file` sink is relative to `cdktf.out/stacks/<stack>/`.
   * See `ScaleflexApiKeyProps.deliver`.
   */
  readonly deliver?: readonly DeliverySink[];
}

const PROJECT_MARK = Symbol.for('scaleflex-keys.ScaleflexProject');

/** The stack file as the provisioners name it: Terraform runs in the stack's directory. */
export const STACK_FILE = `"\${path.module}/${STACK_FILE_NAME}"`;

/** Quotes a word for the provisioner's shell (sh or cmd): bare when safe, else in double quotes. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9._\/:@+=-]+$/.test(word) ? word : `"${word.replace(/(["\\$`])/g, '\\$1')}"`;
}

/** A Scaleflex project managed from a CDKTF stack; add its keys with `new ScaleflexApiKey(project, id, props)`. */
export class ScaleflexProject extends Construct {
  /** True when `x` is a `ScaleflexProject` (also across copies of this package). */
  static isScaleflexProject(x: unknown): x is ScaleflexProject {
    return typeof x === 'object' && x !== null && PROJECT_MARK in x;
  }

  /** The project token. */
  readonly token: string;
  /** The props as given. */
  readonly props: ScaleflexProjectProps;
  /** The project's `null_resource`, carrying the create-time `apply`. */
  readonly resource: Resource;
  private readonly keys: ScaleflexApiKey[] = [];

  constructor(scope: Construct, id: string, props: ScaleflexProjectProps) {
    super(scope, id);
    Object.defineProperty(this, PROJECT_MARK, { value: true });
    this.token = props.token;
    this.props = props;
    ensureNullProvider(TerraformStack.of(this));

    const cli = this.cliCommand;
    const secretsOut = props.secretsOut === undefined ? '' : ` --secrets-out ${escapeTerraformTemplate(shellWord(props.secretsOut))}`;
    this.resource = new Resource(this, 'Default', {
      triggers: {
        [KIND_TRIGGER]: PROJECT_KIND,
        [PROJECT_TRIGGER]: escapeTerraformTemplate(String(props.token)),
        [SPEC_TRIGGER]: Lazy.stringValue({ produce: () => escapeTerraformTemplate(projectSpecJson(this.spec)) }),
      },
      lifecycle: {
        // On a change Terraform creates the replacement (which applies the stack) before it destroys anything.
        createBeforeDestroy: true,
        // Replaced (so the apply below re-runs) whenever one of its key resources is replaced after an edit.
        replaceTriggeredBy: Lazy.listValue({ produce: () => this.keys.map((k) => `null_resource.${k.resource.friendlyUniqueId}`) }),
      },
      provisioners: [
        {
          type: 'local-exec',
          command: `${cli} apply --from-cdktf ${STACK_FILE} --project ${this.shellToken} --auto-approve${secretsOut}`,
        },
      ],
    });
    this.node.addValidation({ validate: () => validateProject(this).project });
  }

  /** The keys declared in this project, in declaration order. */
  get apiKeys(): readonly ScaleflexApiKey[] {
    return [...this.keys];
  }

  /** The project as it is synthesized into its resource's `spec` trigger: settings and every key's spec. */
  get spec(): SynthesizedProjectSpec {
    return { ...this.settings, keys: this.keys.map((k) => k.resource.friendlyUniqueId).sort() };
  }

  /**
   * The project-level settings, which the project's resource carries; its keys carry `apiUrl` and `credentials`
   * too, for their destroy-time provisioner.
   */
  get settings(): SynthesizedProjectSettings {
    return {
      token: this.props.token,
      ...(this.props.apiUrl !== undefined ? { apiUrl: this.props.apiUrl } : {}),
      ...(this.props.credentialsEnv !== undefined ? { credentials: { env: this.props.credentialsEnv } } : {}),
      unmanaged: this.props.unmanaged ?? 'deactivate',
      // Only when set, so that other projects' triggers do not change. In the project's trigger only: its keys'
      // triggers do not repeat them, and the stack reader applies them to keys as the YAML loader does.
      ...(this.props.rotate !== undefined ? { rotate: this.props.rotate } : {}),
      ...(this.props.deliver !== undefined ? { deliver: this.props.deliver } : {}),
    };
  }

  /** The command the provisioners run (`cliCommand`, default `scaleflex-keys`). @internal */
  get cliCommand(): string {
    return this.props.cliCommand ?? 'scaleflex-keys';
  }

  /** The token as a shell word, escaped for Terraform's templates. @internal */
  get shellToken(): string {
    return escapeTerraformTemplate(shellWord(String(this.props.token)));
  }

  /**
   * Called by the `ScaleflexApiKey` constructor: makes the project's resource depend on the key's and validates
   * the key together with its project at synth. Not for direct use.
   * @internal
   */
  registerKey(key: ScaleflexApiKey): void {
    this.keys.push(key);
    this.resource.dependsOn = [...(this.resource.dependsOn ?? []), dependable(key.resource)];
    key.node.addValidation({ validate: () => validateProject(this).keys.get(key) ?? [] });
  }
}

/**
 * Adds the `null` provider to the stack unless it already has one (a second default one would be an error).
 * Compared by provider type, not class, so a NullProvider from another copy of the package counts too.
 */
function ensureNullProvider(stack: TerraformStack): void {
  const existing = stack.node
    .findAll()
    .some((c) => TerraformProvider.isTerraformProvider(c) && c.terraformResourceType === NullProvider.tfResourceType);
  if (!existing) new NullProvider(stack, 'ScaleflexKeysNullProvider');
}
