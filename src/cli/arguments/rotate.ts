/** `rotate`'s command line: definition and typed flags. */
import { type Command, Option } from 'commander';
import { UsageError } from '../../errors';
import type { ApplyFlags } from './apply';
import { addApiOptions, addGuardOptions, apiFlags, DEFAULT_MANIFEST, guardFlags, sourceFlags } from './common';
import { addLifecycleOptions, lifecycleFlags } from './lifecycle';

export interface RotateFlags extends Omit<ApplyFlags, 'planFile'> {
  /** The one project (also in `project`, as the shared source flags carry it). */
  readonly token: string;
  /** The entry to rotate, by its description. */
  readonly description: string;
  /** Undo the entry's latest rotation instead. */
  readonly rollback: boolean;
}

export function define(program: Command): Command {
  return addLifecycleOptions(
    addGuardOptions(
      addApiOptions(
        program
          .command('rotate')
          .description(
            'rotate one declared key now, with overlap: rename it "<description> (rotated DATE, off after DATE)", create a successor with the same ' +
              'permissions and deliver its secret; --rollback undoes the latest rotation. Same guards and confirmation as apply; exit 0 done, 1 an error or a refusal, 3 a guard refused',
          )
          .requiredOption('--project <token>', 'the project of the key')
          .requiredOption('--description <text>', "the key's description, as the manifest declares it")
          .option('-f, --file <path>', `manifest file (default: ${DEFAULT_MANIFEST})`)
          .option('--from-cdktf <path>', 'read the desired state from a synthesized CDKTF stack (cdk.tf.json)')
          .option('--rollback', "undo the key's latest rotation: reactivate the retiring key with its description back, deactivate the successor")
          .option('--auto-approve', 'do not ask for confirmation (needed without a TTY)')
          .option('--secrets-out <file>', "write the successor's secret here (.json or .env), mode 0600, merged; needed unless the key declares deliver:")
          .addOption(new Option('--secrets-format <format>', 'format of --secrets-out').choices(['json', 'env']))
          .option('--no-exec-sinks', "refuse to run the manifest's `exec` delivery sinks (as SCALEFLEX_DELIVERY_EXEC=deny does)"),
      ),
    ),
  );
}

export function parseFlags(o: Record<string, unknown>, args: readonly string[]): RotateFlags {
  if (args.length > 0) throw new UsageError(`rotate takes no arguments, got ${args.map((a) => JSON.stringify(a)).join(' ')}`);
  if (o.file !== undefined && o.fromCdktf !== undefined) throw new UsageError('give -f or --from-cdktf, not both');
  if (o.secretsFormat !== undefined && o.secretsOut === undefined) throw new UsageError('--secrets-format needs --secrets-out FILE');
  const token = typeof o.project === 'string' ? o.project : '';
  const description = typeof o.description === 'string' ? o.description : '';
  if (token === '' || description === '') throw new UsageError('--project and --description are required');
  if (o.rollback && o.secretsOut !== undefined) throw new UsageError('--rollback creates no key: --secrets-out does not apply');
  return {
    ...sourceFlags({ ...o, project: [token] }),
    ...apiFlags(o),
    ...guardFlags(o),
    ...lifecycleFlags(o),
    token,
    description,
    rollback: Boolean(o.rollback),
    autoApprove: Boolean(o.autoApprove),
    execSinks: o.execSinks !== false,
    ...(typeof o.secretsOut === 'string' ? { secretsOut: o.secretsOut } : {}),
    ...(o.secretsFormat === 'json' || o.secretsFormat === 'env' ? { secretsFormat: o.secretsFormat } : {}),
  };
}
