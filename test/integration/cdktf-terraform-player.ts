/**
 * Plays Terraform's part for a synthesized CDKTF stack, since no terraform binary can be installed here: it
 * reads `cdk.tf.json`, keeps a "state" of each `null_resource`'s triggers, and on `apply` creates/replaces/
 * destroys resources the way Terraform does for `null_resource`:
 *
 * - replacement when triggers change, or when a resource named in `lifecycle.replace_triggered_by` is replaced
 *   in the same run (a referenced resource being created does not trigger it);
 * - `create_before_destroy` propagated to a resource's dependencies, as Terraform does;
 * - order: replaced resources without create_before_destroy are destroyed first (dependents first); then every
 *   create and replacement is created, dependencies first; then the deposed instances (create before destroy)
 *   and the resources the configuration no longer has are destroyed, dependents first;
 * - destroy-time provisioners come from the configuration, with `self` the instance being destroyed: a resource
 *   whose block left the configuration runs none (Terraform's documented behaviour).
 *
 * Each `local-exec` runs in a shell with Terraform's interpolations resolved (`${path.module}`,
 * `${self.triggers.NAME}`, `${base64gzip(self.triggers.NAME)}`) and template escapes (`$${`, `%%{`) undone.
 * Anything else it does not understand fails loudly, so a change to what the constructs synthesize cannot slip
 * past the tests.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';

interface LocalExec {
  readonly command: string;
  readonly environment?: Record<string, string>;
  readonly when?: 'create' | 'destroy';
}

interface ResourceConfig {
  readonly address: string;
  readonly triggers: Record<string, string>;
  readonly dependsOn: string[];
  readonly provisioners: LocalExec[];
  readonly createBeforeDestroy: boolean;
  /** `lifecycle.replace_triggered_by`, as addresses. */
  readonly replaceTriggeredBy: string[];
}

/** What Terraform's state remembers of a resource: its evaluated triggers and its dependencies. */
interface StateEntry {
  readonly triggers: Record<string, string>;
  readonly dependsOn: string[];
}

/** One provisioner run, for the test's assertions and its leak scan. */
export interface ProvisionerRun {
  readonly address: string;
  readonly when: 'create' | 'destroy';
  readonly command: string;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A resource action in a `terraform apply`, Terraform-style. */
export interface PlannedAction {
  readonly address: string;
  readonly action: 'create' | 'replace' | 'destroy';
}

function unescapeTemplate(text: string): string {
  return text.replace(/\$\$\{/g, () => '${').replace(/%%\{/g, () => '%{');
}

/** Evaluates a Terraform JSON-syntax string template with the few references our provisioners use. */
function evaluate(template: string, ctx: { moduleDir: string; triggers?: Record<string, string> }): string {
  const out = template.replace(/(\$\$\{|%%\{)|\$\{([^}]*)\}|%\{/g, (match, escape: string | undefined, ref: string | undefined) => {
    if (escape) return escape === '$${' ? '${' : '%{';
    if (ref === 'path.module') return ctx.moduleDir;
    const trigger = ref !== undefined ? /^(base64gzip\()?self\.triggers\.([A-Za-z0-9_]+)(\))?$/.exec(ref) : null;
    if (trigger && Boolean(trigger[1]) === Boolean(trigger[3]) && ctx.triggers && trigger[2]! in ctx.triggers) {
      const value = ctx.triggers[trigger[2]!]!;
      // Terraform's base64gzip: gzip, then base64.
      return trigger[1] ? gzipSync(Buffer.from(value, 'utf8')).toString('base64') : value;
    }
    throw new Error(`terraform player: unsupported template ${JSON.stringify(match)} in ${JSON.stringify(template)}`);
  });
  return out;
}

/** Reads the `null_resource`s of a synthesized stack. */
export function readStackResources(file: string): Map<string, ResourceConfig> {
  const stack = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    resource?: { null_resource?: Record<string, Record<string, unknown>> };
  };
  const resources = new Map<string, ResourceConfig>();
  for (const [name, body] of Object.entries(stack.resource?.null_resource ?? {})) {
    const address = `null_resource.${name}`;
    const provisioners = ((body.provisioner as Array<Record<string, unknown>> | undefined) ?? []).map((p) => {
      const keys = Object.keys(p);
      if (keys.length !== 1 || keys[0] !== 'local-exec') throw new Error(`terraform player: unsupported provisioner ${keys.join(',')} in ${address}`);
      return p['local-exec'] as LocalExec;
    });
    const lifecycle = (body.lifecycle ?? {}) as { create_before_destroy?: boolean; replace_triggered_by?: string[] };
    const unknown = Object.keys(lifecycle).filter((k) => k !== 'create_before_destroy' && k !== 'replace_triggered_by');
    if (unknown.length) throw new Error(`terraform player: unsupported lifecycle ${unknown.join(',')} in ${address}`);
    resources.set(address, {
      address,
      triggers: Object.fromEntries(Object.entries((body.triggers ?? {}) as Record<string, string>).map(([k, v]) => [k, unescapeTemplate(v)])),
      dependsOn: ((body.depends_on as string[] | undefined) ?? []).map((d) => d.replace(/^\$\{(.*)\}$/, '$1')),
      provisioners,
      createBeforeDestroy: Boolean(lifecycle.create_before_destroy),
      replaceTriggeredBy: (lifecycle.replace_triggered_by ?? []).map((d) => {
        const m = /^(?:\$\{)?(null_resource\.[^}.]+)\}?$/.exec(d);
        if (!m) throw new Error(`terraform player: unsupported replace_triggered_by ${JSON.stringify(d)} in ${address}`);
        return m[1]!;
      }),
    });
  }
  return resources;
}

/** Dependencies first (Terraform's create order); throws on a cycle or a dangling reference. */
function topologicalOrder(resources: Map<string, { dependsOn: readonly string[] }>): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (address: string, from?: string) => {
    const r = resources.get(address);
    if (!r) throw new Error(`terraform player: ${from} depends on unknown ${address}`);
    if (state.get(address) === 'done') return;
    if (state.get(address) === 'visiting') throw new Error(`terraform player: dependency cycle at ${address}`);
    state.set(address, 'visiting');
    for (const d of r.dependsOn) visit(d, address);
    state.set(address, 'done');
    order.push(address);
  };
  for (const address of [...resources.keys()].sort()) visit(address);
  return order;
}

/** Terraform for null_resources with local-exec provisioners, over a state kept in memory. */
export class TerraformPlayer {
  private readonly state = new Map<string, StateEntry>();
  /** The configuration last applied: where destroy-time provisioners come from. */
  private config = new Map<string, ResourceConfig>();
  /** Terraform's working directory (`path.module` of the root module): the stack directory last applied. */
  private moduleDir = '.';
  readonly runs: ProvisionerRun[] = [];

  constructor(private readonly env: NodeJS.ProcessEnv) {}

  /** The triggers the state holds, by address (what `terraform show` would list). */
  stateTriggers(): Map<string, Record<string, string>> {
    return new Map([...this.state].map(([a, e]) => [a, e.triggers]));
  }

  /**
   * What `terraform plan` would do for `file`: creates, replacements (triggers changed, or a resource in
   * `replace_triggered_by` replaced), destroys; creates and replacements in dependency order.
   */
  plan(file: string): PlannedAction[] {
    return this.planConfig(readStackResources(file));
  }

  private planConfig(config: Map<string, ResourceConfig>): PlannedAction[] {
    const actions: PlannedAction[] = [];
    const replaced = new Set<string>();
    const order = topologicalOrder(new Map([...config].map(([a, r]) => [a, { dependsOn: [...r.dependsOn, ...r.replaceTriggeredBy] }])));
    for (const address of order) {
      const old = this.state.get(address);
      const r = config.get(address)!;
      if (!old) actions.push({ address, action: 'create' });
      else if (JSON.stringify(old.triggers) !== JSON.stringify(r.triggers) || r.replaceTriggeredBy.some((t) => replaced.has(t))) {
        replaced.add(address);
        actions.push({ address, action: 'replace' });
      }
    }
    for (const address of [...this.state.keys()].filter((a) => !config.has(a))) actions.push({ address, action: 'destroy' });
    return actions;
  }

  /** Whether `address` is created before destroyed: its own lifecycle, or that of any resource depending on it. */
  private static createBeforeDestroy(config: Map<string, ResourceConfig>, address: string): boolean {
    const seen = new Set<string>();
    const visit = (a: string): boolean => {
      if (seen.has(a)) return false;
      seen.add(a);
      if (config.get(a)?.createBeforeDestroy) return true;
      return [...config.values()].some((r) => r.dependsOn.includes(a) && visit(r.address));
    };
    return visit(address);
  }

  /** `terraform apply` of `file`; stops at the first failing provisioner (Terraform marks the resource tainted). */
  async apply(file: string): Promise<PlannedAction[]> {
    const moduleDir = path.dirname(path.resolve(file));
    this.moduleDir = moduleDir;
    const config = readStackResources(file);
    const actions = this.planConfig(config);
    this.config = config;
    const byAddress = new Map(actions.map((a) => [a.address, a.action]));
    const cbd = (a: string) => TerraformPlayer.createBeforeDestroy(config, a);
    const stateOrder = () => topologicalOrder(new Map(this.state)).reverse();

    // 1. Replacements without create_before_destroy: the old instance goes first, dependents first.
    for (const address of stateOrder().filter((a) => byAddress.get(a) === 'replace' && !cbd(a))) await this.destroyOne(address);
    // 2. Creates and replacements, dependencies first; a create-before-destroy replacement's old instance is deposed.
    const deposed = new Map<string, StateEntry>();
    for (const { address, action } of actions) {
      if (action === 'destroy') continue;
      const r = config.get(address)!;
      const previous = this.state.get(address);
      if (action === 'replace' && previous) deposed.set(address, previous);
      for (const p of r.provisioners.filter((x) => (x.when ?? 'create') === 'create')) {
        await this.run(address, 'create', p, { moduleDir, triggers: r.triggers });
      }
      this.state.set(address, { triggers: r.triggers, dependsOn: r.dependsOn });
    }
    // 3. Deposed instances and resources no longer configured, dependents first (by the old dependencies).
    const orphans = [...this.state.keys()].filter((a) => !config.has(a));
    const oldKey = (a: string) => (deposed.has(a) ? `${a} (deposed)` : a);
    const old = new Map<string, { address: string; entry: StateEntry }>([
      ...orphans.map((a) => [a, { address: a, entry: this.state.get(a)! }] as const),
      ...[...deposed].map(([a, entry]) => [oldKey(a), { address: a, entry }] as const),
    ]);
    const graph = new Map([...old].map(([k, { entry }]) => [k, { dependsOn: entry.dependsOn.map(oldKey).filter((d) => old.has(d)) }]));
    for (const key of topologicalOrder(graph).reverse()) {
      const { address, entry } = old.get(key)!;
      await this.runDestroyProvisioners(address, entry);
      if (!deposed.has(address)) this.state.delete(address);
    }
    return actions;
  }

  /** `terraform destroy`: every resource, dependents first, with the configuration last applied. */
  async destroy(): Promise<void> {
    for (const address of topologicalOrder(new Map(this.state)).reverse()) await this.destroyOne(address);
  }

  private async destroyOne(address: string): Promise<void> {
    const entry = this.state.get(address);
    if (!entry) return;
    await this.runDestroyProvisioners(address, entry);
    this.state.delete(address);
  }

  private async runDestroyProvisioners(address: string, entry: StateEntry): Promise<void> {
    // The provisioners of the configuration (none once the block is gone); `self` is the instance being destroyed.
    const provisioners = (this.config.get(address)?.provisioners ?? []).filter((p) => p.when === 'destroy');
    for (const p of provisioners) await this.run(address, 'destroy', p, { moduleDir: this.moduleDir, triggers: entry.triggers });
  }

  private async run(address: string, when: 'create' | 'destroy', p: LocalExec, ctx: { moduleDir: string; triggers: Record<string, string> }): Promise<void> {
    const command = evaluate(p.command, ctx);
    const extra = Object.fromEntries(Object.entries(p.environment ?? {}).map(([k, v]) => [k, evaluate(v, ctx)]));
    const result = await new Promise<ProvisionerRun>((resolve, reject) => {
      // Terraform runs local-exec through `/bin/sh -c` in its working directory: the stack's directory.
      const child = spawn('/bin/sh', ['-c', command], { cwd: ctx.moduleDir, env: { ...this.env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ address, when, command, code: code ?? -1, stdout, stderr }));
    });
    this.runs.push(result);
    if (result.code !== 0) {
      throw new Error(`local-exec of ${address} (${when}) failed with exit ${result.code}: ${command}\n${result.stdout}\n${result.stderr}`);
    }
  }
}
