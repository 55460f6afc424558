/**
 * The CDKTF version of `examples/scaleflex-keys.yaml`: the same projects and keys, declared with the
 * `scaleflex-keys/cdktf` constructs. `npm run synth` (or `cdktf synth`) writes
 * `cdktf.out/stacks/scaleflex-keys/cdk.tf.json`, which `scaleflex-keys plan --from-cdktf` reads and
 * `cdktf deploy` (Terraform) carries out through the constructs' provisioners.
 */
import { App, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
// In your own CDKTF app: import { Permission, ScaleflexApiKey, ScaleflexProject } from 'scaleflex-keys/cdktf';
import { Permission, ScaleflexApiKey, ScaleflexProject } from '../../src/cdktf';

/** The stack of the example: two projects, permission sets, a deactivated key and a rename. */
export class ScaleflexKeysStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);

    const permissionSets = {
      'read-only': [Permission.OBJECTS_LIST, Permission.OBJECTS_FETCH],
      publisher: [Permission.FILE_UPLOAD, Permission.FILE_META_CREATE, Permission.FILE_META_CHANGE],
    };

    const demo = new ScaleflexProject(this, 'demo', {
      token: 'demo',
      credentialsEnv: 'SCALEFLEX_API_KEY_DEMO',
      permissionSets,
    });
    new ScaleflexApiKey(demo, 'ci-uploader', {
      description: 'CI uploader',
      permissions: [Permission.FILE_UPLOAD],
      permissionSets: ['read-only'],
      formerDescriptions: ['uploader'],
    });
    new ScaleflexApiKey(demo, 'storefront', {
      description: 'Storefront read-only',
      permissions: [],
      permissionSets: ['read-only'],
    });
    new ScaleflexApiKey(demo, 'legacy-importer', {
      description: 'Legacy importer',
      permissions: [Permission.FILE_UPLOAD, Permission.DIR_CREATE],
      active: false,
    });

    const marketing = new ScaleflexProject(this, 'marketing', { token: 'marketing', permissionSets });
    new ScaleflexApiKey(marketing, 'cms', {
      description: 'CMS publisher',
      permissions: [Permission.COLLECTIONS_MANAGE],
      permissionSets: ['read-only', 'publisher'],
    });
  }
}

if (require.main === module) {
  // `cdktf synth` sets CDKTF_OUTDIR; without the CLI, App() writes to ./cdktf.out.
  const app = new App();
  new ScaleflexKeysStack(app, 'scaleflex-keys');
  app.synth();
}
