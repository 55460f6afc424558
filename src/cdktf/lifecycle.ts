/**
 * The shapes of the `rotate` and `deliver` props that `ScaleflexProject` (project defaults) and
 * `ScaleflexApiKey` (the key's own) share: the manifest's `$defs.rotation` and `$defs.delivery`, field for field,
 * so that synth-time validation checks them with the manifest's schema and rules. They are the wire format's
 * own types (what a trigger holds), named for the constructs' users.
 */
import type { SynthesizedDeliverySink, SynthesizedRotation } from '../manifest/cdktf/wire';

/**
 * Rotation with overlap: when the live key is older than `every`, a plan renames it to
 * `<description> (rotated YYYY-MM-DD, off after YYYY-MM-DD)` and creates a successor with the same description and
 * permissions; the old key is deactivated after `overlap`. The manifest's `rotate:`, field for field.
 */
export type Rotation = SynthesizedRotation;

/**
 * One place the secret of a new key goes: exactly one of
 * - `{ exec: [program, ...args], timeout? }`: the program is run directly (no shell) with the secret on stdin
 *   (never in argv or the environment); success is exit 0. Arguments (not the program) may hold the placeholders
 *   `{project}`, `{description}`, `{name}` (the `SCALEFLEX_KEY_<PROJECT>_<DESCRIPTION>` variable name) and
 *   `{uuid}`. `timeout`: seconds before it is killed, 1 to 3600, default 60. The operator can forbid exec sinks
 *   (`SCALEFLEX_DELIVERY_EXEC=deny` or `--no-exec-sinks`).
 * - `{ file: path }`: a `.json` (project -> description -> secret) or `.env` secrets file, written mode 0600,
 *   merged, under a lock. Relative to the directory of the synthesized stack, `cdktf.out/stacks/<stack>/` (where
 *   Terraform runs, like `secretsOut`), and inside it; never `cdk.tf.json` itself.
 */
export type DeliverySink = SynthesizedDeliverySink;
