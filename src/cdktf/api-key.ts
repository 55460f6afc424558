/**
 * `ScaleflexApiKey`: one Scaleflex API key declared inside a `ScaleflexProject`. It synthesizes a
 * `null_resource` whose triggers hold the key's canonical spec, so `terraform plan` shows exactly which key
 * changed, and only that one; the project's resource depends on it, is replaced when it is
 * (`replace_triggered_by`), and carries out the change through `scaleflex-keys apply`.
 *
 * Its destroy-time `local-exec` deactivates this one key (never deletes it) when Terraform destroys it:
 *
 *   scaleflex-keys deactivate --key-spec-env SCALEFLEX_KEYS_APPLIED_KEY --project <token> \
 *     --skip-if-replaced-in cdk.tf.json --key-resource <this resource's name> --auto-approve
 *
 * with the key's spec from Terraform's state (`self.triggers.spec`). It does nothing when the stack still
 * declares this resource with another spec (Terraform is replacing it after an edit, and the project's re-run
 * apply converges the key) or another key resource of the project now declares the same live key. The triggers
 * also carry the project's `api_url` and `credentials_env` (a variable name) when set, so the provisioner
 * needs nothing but `self`.
 */
import { Construct } from 'constructs';
import { Resource } from '@cdktf/provider-null/lib/resource';
import { Lazy } from 'cdktf';
import {
  API_URL_TRIGGER,
  APPLIED_KEY_ENV,
  CREDENTIALS_ENV_TRIGGER,
  escapeTerraformTemplate,
  KEY_KIND,
  keySpecJson,
  KIND_TRIGGER,
  PROJECT_TRIGGER,
  SPEC_TRIGGER,
  type SynthesizedKeySpec,
} from '../manifest/cdktf/wire';
import type { DeliverySink, Rotation } from './lifecycle';
import { canonicalPermissions } from '../permissions';
import type { Permission } from './permission';
import { ScaleflexProject, shellWord, STACK_FILE } from './project';

/** What a `ScaleflexApiKey` declares; the same fields, with the same rules, as a key entry of the YAML manifest. */
export interface ScaleflexApiKeyProps {
  /**
   * The key's description: its identity within the project. 1 to 255 characters (Unicode code points), no
   * leading or trailing whitespace, no invisible or other non-printing characters, unique within the project (keys
   * pinned by `uuid` may share one).
   */
  readonly description: string;
  /**
   * The permissions the key gets, by name (`Permission.FILE_UPLOAD` or `'FILE_UPLOAD'`), without repeats.
   * With `permissionSets`, the key gets the union; it must get at least one permission in total.
   */
  readonly permissions: readonly Permission[];
  /** Names of permission sets declared on the project (`ScaleflexProjectProps.permissionSets`) whose permissions the key also gets. */
  readonly permissionSets?: readonly string[];
  /** Whether the key is active. Default `true`; `false` deactivates it (scaleflex-keys never deletes a key). */
  readonly active?: boolean;
  /**
   * Earlier descriptions of this key, so that changing `description` renames the live key instead of creating
   * a new one. May not equal any current description in the project.
   */
  readonly formerDescriptions?: readonly string[];
  /** Pins this declaration to one live key by its uuid (needed when two live keys share a description). */
  readonly uuid?: string;
  /**
   * `true`: the key is never deactivated and never loses ACCESS_READ/ACCESS_MANAGE, whatever key the tool runs
   * with; `--force` does not override it. Cannot be combined with `active: false`. Default `false`.
   */
  readonly protected?: boolean;
  /**
   * Who answers for this key: a person or team (e.g. `@platform-team`); not empty. Review metadata for `audit`
   * and the `requireOwner` policy rule; never sent to the Scaleflex API.
   */
  readonly owner?: string;
  /** What the key is for; not empty. Review metadata shown by `audit`; never sent to the Scaleflex API. */
  readonly purpose?: string;
  /**
   * Why the key needs its riskier permissions, for the `requireJustification` policy rule and reviewers; not
   * empty. Never sent to the Scaleflex API.
   */
  readonly justification?: string;
  /**
   * Rotate this key with overlap, overriding the project's `rotate`: when the live key is older than `every`, a
   * plan renames it to `<description> (rotated YYYY-MM-DD, off after YYYY-MM-DD)` and creates a successor; the
   * old key is deactivated after `overlap`. Durations `90d`, `13w`, `1y`; `overlap` shorter than `every`. Not
   * with `uuid` (the successor has another uuid).
   */
  readonly rotate?: Rotation;
  /**
   * When the key expires, UTC: a date (`2027-03-01`) or a date-time (`2027-03-01T12:00:00Z`). From then on a
   * plan deactivates it (reason `expired`) and never creates it; plans warn ahead.
   */
  readonly expires?: string;
  /**
   * Where the secret of this key goes when it is created (or rotated), instead of the project's `deliver`;
   * `[]`: nowhere but `--secrets-out`. Each sink is `{ exec: [program, ...args], timeout? }` (the secret on
   * stdin; placeholders `{project}`, `{description}`, `{name}`, `{uuid}` in the arguments) or `{ file }` (a
   * `.json` or `.env` path relative to the directory Terraform runs in, `cdktf.out/stacks/<stack>/`, and inside it).
   */
  readonly deliver?: readonly DeliverySink[];
}

/** A Scaleflex API key of a `ScaleflexProject`, synthesized as a `null_resource` carrying its spec in `triggers`. */
export class ScaleflexApiKey extends Construct {
  /** The project this key belongs to. */
  readonly project: ScaleflexProject;
  /** The props as given. */
  readonly props: ScaleflexApiKeyProps;
  /** The key's `null_resource`; its `triggers.spec` is the canonical spec (`spec`). */
  readonly resource: Resource;
  /** The key as it is synthesized: effective permissions (sets expanded), sorted; defaults filled in. */
  readonly spec: SynthesizedKeySpec;

  constructor(project: ScaleflexProject, id: string, props: ScaleflexApiKeyProps) {
    if (!ScaleflexProject.isScaleflexProject(project)) {
      throw new TypeError(`ScaleflexApiKey "${id}" must be created inside a ScaleflexProject (its first argument)`);
    }
    super(project, id);
    this.project = project;
    this.props = props;
    this.spec = synthesizedSpec(project, props);
    const settings = project.settings;
    const credentialsFlag = settings.credentials ? ` --credentials-env \${self.triggers.${CREDENTIALS_ENV_TRIGGER}}` : '';
    this.resource = new Resource(this, 'Default', {
      triggers: {
        [KIND_TRIGGER]: KEY_KIND,
        [PROJECT_TRIGGER]: escapeTerraformTemplate(String(project.token)),
        [SPEC_TRIGGER]: escapeTerraformTemplate(keySpecJson(this.spec)),
        // Project settings the destroy-time provisioner needs (it may only reference `self`). Not secrets.
        ...(settings.apiUrl !== undefined ? { [API_URL_TRIGGER]: escapeTerraformTemplate(settings.apiUrl) } : {}),
        ...(settings.credentials ? { [CREDENTIALS_ENV_TRIGGER]: settings.credentials.env } : {}),
      },
      // Explicit, as Terraform would propagate it from the project's resource anyway: on an edit the new
      // instance exists (and the project's apply has run) before the old one's provisioner runs.
      lifecycle: { createBeforeDestroy: true },
      provisioners: [
        {
          type: 'local-exec',
          when: 'destroy',
          command: Lazy.stringValue({
            produce: () =>
              `${project.cliCommand} deactivate --key-spec-env ${APPLIED_KEY_ENV} --project ${project.shellToken}${credentialsFlag}` +
              ` --skip-if-replaced-in ${STACK_FILE} --key-resource ${shellWord(this.resource.friendlyUniqueId)} --auto-approve`,
          }),
          // Values from Terraform's state, passed in the environment so that no shell parses them.
          environment: {
            [APPLIED_KEY_ENV]: `\${self.triggers.${SPEC_TRIGGER}}`,
            ...(settings.apiUrl !== undefined ? { SCALEFLEX_API_URL: `\${self.triggers.${API_URL_TRIGGER}}` } : {}),
          },
        },
      ],
    });
    project.registerKey(this);
  }
}

/** The canonical spec: what the key resolves to once defaults and the project's permission sets are applied. */
function synthesizedSpec(project: ScaleflexProject, props: ScaleflexApiKeyProps): SynthesizedKeySpec {
  // Plain JavaScript may pass anything: only arrays count here; validation at synth reports the rest.
  const list = <T>(value: readonly T[] | undefined): readonly T[] => (Array.isArray(value) ? value : []);
  const sets = project.props.permissionSets ?? {};
  const fromSets = list(props.permissionSets).flatMap((name) =>
    Object.prototype.hasOwnProperty.call(sets, name) ? [...list(sets[name])] : [],
  );
  return {
    description: props.description,
    permissions: canonicalPermissions([...list(props.permissions), ...fromSets]),
    active: props.active ?? true,
    formerDescriptions: [...list(props.formerDescriptions)],
    ...(props.uuid !== undefined ? { uuid: props.uuid } : {}),
    // Only when true, so that the triggers of every other key stay as they were.
    ...(props.protected === true ? { protected: true as const } : {}),
    // Each only when set, for the same reason. The key's own `rotate`/`deliver` only: the reader applies the
    // project's defaults (see `SynthesizedKeySpec`).
    ...(props.owner !== undefined ? { owner: props.owner } : {}),
    ...(props.purpose !== undefined ? { purpose: props.purpose } : {}),
    ...(props.justification !== undefined ? { justification: props.justification } : {}),
    ...(props.rotate !== undefined ? { rotate: props.rotate } : {}),
    ...(props.expires !== undefined ? { expires: props.expires } : {}),
    ...(props.deliver !== undefined ? { deliver: props.deliver } : {}),
  };
}
