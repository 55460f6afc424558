/**
 * Applies one project's plan through the `KeysApi` seam. (Being implemented.)
 */
import type { KeysApi } from '../model';
import type { Change, ProjectPlan } from './plan';

/** One change's outcome, reported as it happens (never carries a secret). */
export interface ApplyEvent {
  readonly project: string;
  readonly change: Change;
  readonly status: 'done' | 'failed' | 'skipped';
  readonly error?: Error;
  /** For a `create` that succeeded: the new key's uuid. */
  readonly uuid?: string;
}

export interface ApplyOptions {
  /** The API's bulk status maximum (100 for Scaleflex). */
  readonly bulkMax: number;
  /** How many calls may be in flight at once within this project. */
  readonly parallelism: number;
  onEvent(e: ApplyEvent): void;
  /** The only place a created key's secret goes. Awaited before the create counts as done. */
  onSecret(created: { project: string; uuid: string; description: string; secret: string }): Promise<void> | void;
}

export interface ApplyResult {
  readonly done: Change[];
  readonly failed?: { change: Change; error: Error };
  readonly notDone: Change[];
}

/** Applies `project.changes` in plan order; stops the project at the first failure. */
export async function applyProjectPlan(_api: KeysApi, _project: ProjectPlan, _opts: ApplyOptions): Promise<ApplyResult> {
  throw new Error('applyProjectPlan: not implemented yet');
}
