/**
 * The CDKTF front end of scaleflex-keys, published as `scaleflex-keys/cdktf`: constructs that declare a
 * project's API keys in a CDK for Terraform stack. This folder is the only code that imports `cdktf`,
 * `constructs` or `@cdktf/provider-null`, so YAML users never load them and a move to CDK Terrain (`cdktn`)
 * is a change to this folder alone.
 *
 * ```ts
 * const demo = new ScaleflexProject(stack, 'demo', { token: 'demo', credentialsEnv: 'SCALEFLEX_API_KEY_DEMO' });
 * new ScaleflexApiKey(demo, 'uploader', { description: 'CI uploader', permissions: [Permission.FILE_UPLOAD] });
 * ```
 */
export { Permission } from './permission';
export { ScaleflexProject, type ScaleflexProjectProps } from './project';
export { ScaleflexApiKey, type ScaleflexApiKeyProps } from './api-key';
export type { DeliverySink, Rotation } from './lifecycle';
export type { UnmanagedPolicy } from '../model';
