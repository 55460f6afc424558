/**
 * The options that set when rotations and expiries are evaluated, shared by `plan`, `apply` and `rotate`:
 * `--now <ISO date-time>` (preview what a scheduled run will do; tests move time with it) and `--warn-within
 * <duration>` (how far ahead plans warn about rotations and expiries coming due; default 14d). Light: commander only.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { parseAge } from '../../policy/rules';
import { DEFAULT_WARN_WITHIN_MS } from '../../model';
import { DAY_MS, parseUtcInstant } from '../../utc-time';

export interface LifecycleFlags {
  /** The moment rotations and expiries are evaluated at; absent: the clock. */
  readonly now?: Date;
  /** Warn about rotations and expiries coming due within this many milliseconds. */
  readonly warnWithinMs: number;
}

/** `--now`'s parser: an ISO 8601 date or date-time, UTC unless it names an offset. */
export function instant(value: string): Date {
  const iso = parseUtcInstant(value.trim());
  if (iso === undefined) throw new InvalidArgumentError(`expected an ISO 8601 date-time such as 2026-12-01T00:00:00Z, got "${value}"`);
  return new Date(iso);
}

/** `--warn-within`'s parser: `0d` (no warnings), `14d`, `2w`, `1y`. */
export function duration(value: string): number {
  if (value.trim() === '0d') return 0;
  const days = parseAge(value.trim());
  if (days === undefined) throw new InvalidArgumentError(`expected a number of days, weeks or years such as 14d, 2w, 1y, got "${value}"`);
  return days * DAY_MS;
}

export function addLifecycleOptions(cmd: Command): Command {
  return cmd
    .option('--now <date-time>', 'evaluate rotations and expiries as of this moment (ISO 8601, UTC), instead of the clock', instant)
    .option('--warn-within <duration>', 'warn about rotations and expiries coming due within this long (e.g. 14d, 2w; 0d: never)', duration);
}

export function lifecycleFlags(o: Record<string, unknown>): LifecycleFlags {
  return { ...(o.now instanceof Date ? { now: o.now } : {}), warnWithinMs: typeof o.warnWithin === 'number' ? o.warnWithin : DEFAULT_WARN_WITHIN_MS };
}
