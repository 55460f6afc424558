/** The audit: live keys (+ manifest and policy) -> an `AuditReport` value that `src/render/audit-*` render. */
export * from './model';
export * from './labels';
