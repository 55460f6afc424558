/**
 * The Scaleflex API client: credentials and URL resolution, and the factory that opens a checked `KeysApi`
 * per project over one shared undici Agent. The CLI and the library use only what is exported here.
 */
export { KeysApiFactory, ReadOnlyKeysApi, ManagingKeysApi, requiredPermissions, checkSelfKey, accessOf } from './client';
export type { OpenOptions, KeysApiFactoryOptions, OpenedKeysApi, ApiAccess } from './client';
export { resolveCredentials, resolveApiUrl, projectKeyVariable, DEFAULT_API_URL } from './credentials';
export { assertSafeApiUrl, assertAllowedApiUrl, isLoopbackHost } from './url-safety';
export { DEFAULT_TIMEOUTS, DEFAULT_PARALLELISM, NoAnswerError } from './transport';
export type { Timeouts } from './transport';
export { DEFAULT_RETRY_POLICY } from './backoff';
export type { RetryPolicy } from './backoff';
