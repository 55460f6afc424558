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

/**
 * The stack of the example, entry for entry the same as examples/scaleflex-keys.yaml: two projects, permission
 * sets, a deactivated key, a rename, and a project whose unmanaged keys are left alone.
 */
export class ScaleflexKeysStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);

    // Reusable permission lists; a key names them in `permissionSets`.
    const permissionSets = {
      'read-only': [Permission.OBJECTS_LIST, Permission.OBJECTS_FETCH],
      uploader: [Permission.FILE_UPLOAD, Permission.FILE_META_CREATE, Permission.DIR_CREATE],
      librarian: [
        Permission.FILE_META_CHANGE,
        Permission.FILE_LABEL_CHANGE,
        Permission.FILE_RENAME,
        Permission.FILE_MOVE,
        Permission.LABELS_LIST,
        Permission.LABEL_MANAGE,
        Permission.COLLECTIONS_LIST,
        Permission.COLLECTIONS_MANAGE,
      ],
    };

    // The admin key comes from SCALEFLEX_API_KEY_DEMO (or SCALEFLEX_API_KEY) when Terraform runs the
    // provisioners; `credentialsEnv: 'MY_DEMO_ADMIN_KEY'` names another variable. Never the key itself.
    // Live keys that no ScaleflexApiKey declares are deactivated (never deleted; never the tool's own key).
    const demo = new ScaleflexProject(this, 'demo', { token: 'demo', unmanaged: 'deactivate', permissionSets });
    new ScaleflexApiKey(demo, 'ci-uploader', {
      description: 'CI uploader',
      permissions: [],
      permissionSets: ['uploader'],
    });
    new ScaleflexApiKey(demo, 'website-gallery', {
      description: 'Website gallery',
      permissions: [],
      permissionSets: ['read-only'],
    });
    new ScaleflexApiKey(demo, 'product-feed-sync', {
      description: 'Product feed sync',
      // Formerly "PIM import": the live key is renamed, not replaced.
      formerDescriptions: ['PIM import'],
      permissionSets: ['read-only', 'librarian'],
      permissions: [Permission.FILE_PRODUCT_CHANGE],
    });
    new ScaleflexApiKey(demo, 'legacy-mobile-app', {
      description: 'Legacy mobile app',
      permissions: [],
      permissionSets: ['read-only'],
      active: false, // kept for its history, but switched off
    });

    // Keys created by hand in the Scaleflex hub are left alone in this project.
    const mediaProd = new ScaleflexProject(this, 'media-prod', { token: 'media-prod', unmanaged: 'ignore', permissionSets });
    new ScaleflexApiKey(mediaProd, 'asset-pipeline', {
      description: 'Asset pipeline',
      permissionSets: ['read-only', 'uploader'],
      permissions: [Permission.FILE_PROCESS_AUTOTAGGING, Permission.FILE_IMAGE_EDITOR],
    });
    new ScaleflexApiKey(mediaProd, 'approval-bot', {
      description: 'Approval bot: marketing',
      permissions: [Permission.OBJECTS_LIST, Permission.OBJECTS_APPROVAL_VOTE],
    });
    new ScaleflexApiKey(mediaProd, 'config-auditor', {
      description: 'Config auditor',
      permissions: [Permission.CONFIG_LIST, Permission.ACCESS_READ],
    });
  }
}

if (require.main === module) {
  // `cdktf synth` sets CDKTF_OUTDIR; without the CLI, App() writes to ./cdktf.out.
  const app = new App();
  new ScaleflexKeysStack(app, 'scaleflex-keys');
  app.synth();
}
