/**
 * The reconciler's public surface: diff desired against live (`planProject`), assemble and save the plan
 * (`buildPlan`, `planToJson`, `parsePlanFile`), check it (`checkGuards`) and apply it (`applyProjectPlan`).
 * Everything here is pure except `applyProjectPlan`, which talks only to the narrow `KeysApi` seam.
 */
export * from '../model';
export { planProject, type PlanProjectInput } from './diff';
export { liveFingerprint, desiredFingerprint } from './fingerprint';
export { checkGuards } from './guards';
export { buildPlan, countChanges, changesByKey, type KeyChangeGroup } from './build';
export { planToJson, parsePlanFile, planToDocument } from './plan-file';
export { applyProjectPlan, checkPreconditions, type ApplyEvent, type ApplyOptions, type ApplyResult } from './apply';
export { changeEntryLookup, entriesByKey, matchEntries, type MatchResult, planEntryLookup, TWIN_WINDOW_MS } from './match';
export { matchError, stateOf, lifecycleWarnings, rotationBlocker } from './diff';
export { parseRetiring, retiringDescription } from './rotation';
export { savedProjectProblems, type SavedProjectInput } from './saved-plan';
