/**
 * Policy: review rules over the desired state and the live keys (`forbid`, `requireJustification`,
 * `requireOwner`, `maxPermissions`, `descriptionPattern`, `maxAge`). Sits after the manifest stage and before
 * plan output: `validate` and `plan` evaluate it and refuse with exit code 4 on an error-severity finding;
 * `audit` reports it.
 */
export * from './rules';
export * from './evaluate';
export { loadPolicy, parsePolicyText } from './load';
