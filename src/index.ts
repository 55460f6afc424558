/**
 * The library surface of scaleflex-keys: domain types, permissions, errors, redaction, the reconciler and renderers.
 * No CLI, no emulator, no cdktf here (those have their own entry points), so importing it stays light.
 */
export * from './model';
export * from './permissions';
export * from './errors';
export { Redactor, redact, maskSecret, secrets } from './redact';
export * from './reconcile';
export * from './render';
