/**
 * Reading the desired state for a command: `-f FILE` / `--from-cdktf FILE` through the manifest loader (which
 * checks the manifest against what the operator allows), then `--project` applied. A ManifestError carries every
 * diagnostic (`file:line:col: error: ...`) in its message. Nothing here talks to the API.
 */
import * as path from 'node:path';
import { UsageError } from '../errors';
import { loadDesiredReading } from '../manifest';
import type { DesiredState, PlanSource, ProjectSpec } from '../model';
import type { PolicyRule } from '../policy/rules';
import type { OperatorTrust } from '../trust';
import { sourceFile, type SourceFlags } from './arguments/common';
import type { Io } from './io';

/** Projects named by `--project` (every project when none), in manifest order; unknown names are a usage error. */
export function selectProjects(state: DesiredState, wanted: readonly string[]): ProjectSpec[] {
  if (wanted.length === 0) return [...state.projects];
  const known = new Set(state.projects.map((p) => p.token));
  const unknown = wanted.filter((t) => !known.has(t));
  if (unknown.length) {
    throw new UsageError(
      `--project ${unknown.map((t) => `"${t}"`).join(', ')}: not in the manifest (it declares ${[...known].join(', ') || 'no projects'})`,
    );
  }
  const set = new Set(wanted);
  return state.projects.filter((p) => set.has(p.token));
}

/** What a manifest-driven command has read. */
export interface LoadedProjects {
  readonly state: DesiredState;
  /** The manifest's own `policy:` rules, from the same parse (none for a CDKTF stack). */
  readonly policy: readonly PolicyRule[];
  /** The projects this run covers. */
  readonly projects: ProjectSpec[];
  /** Where relative credential files start: the manifest's directory. */
  readonly baseDir: string;
  /** The manifest, as a plan records it (relative to the working directory). */
  readonly source: PlanSource;
}

/** Loads and validates the desired state (throws ManifestError with every problem) and selects projects. */
export function loadProjects(flags: SourceFlags, io: Io, trust: OperatorTrust): LoadedProjects {
  const file = sourceFile(flags);
  const { state, policy } = loadDesiredReading(
    {
      ...(flags.file !== undefined ? { file: flags.file } : {}),
      ...(flags.fromCdktf !== undefined ? { fromCdktf: flags.fromCdktf } : {}),
      cwd: io.cwd,
    },
    { trust },
  );
  const absolute = path.resolve(io.cwd, file);
  return {
    state,
    policy,
    projects: selectProjects(state, flags.project),
    baseDir: path.dirname(absolute),
    source: { kind: flags.fromCdktf !== undefined ? 'cdktf' : 'yaml', path: path.relative(io.cwd, absolute) || file },
  };
}
