/**
 * Deterministic chaos for the emulator: a seeded PRNG, the choice of which injected fault (if any) answers
 * a request, and the seeded latency added to every answer. Pure: the server owns the timers and sockets.
 */

/** Every kind of fault the emulator can inject. */
export const FAULT_KINDS = ['http500', 'http503', 'http429', 'reset', 'stall', 'applied-then-reset'] as const;

/** One kind of injected fault. `applied-then-reset` only ever answers mutations. */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** A source of uniform numbers in [0, 1). */
export type Random = () => number;

/**
 * mulberry32: a tiny, fast, well-distributed 32-bit PRNG. Same seed, same sequence, on every platform,
 * which is all the emulator needs (nothing here is security-sensitive).
 */
export function createRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Which faults are injected, and how often. */
export interface FaultPolicy {
  /** Fraction of requests answered with a fault, 0..1. */
  readonly rate: number;
  readonly kinds: readonly FaultKind[];
}

/**
 * Decides whether a request gets a fault, and which. Always draws twice when the rate is above 0, so the
 * sequence of decisions depends only on the seed and the order of requests, not on which were mutations.
 */
export function chooseFault(random: Random, policy: FaultPolicy, isMutation: boolean): FaultKind | undefined {
  if (!(policy.rate > 0) || policy.kinds.length === 0) return undefined;
  const roll = random();
  const pick = random();
  if (roll >= policy.rate) return undefined;
  const candidates = isMutation ? policy.kinds : policy.kinds.filter((k) => k !== 'applied-then-reset');
  if (candidates.length === 0) return undefined;
  return candidates[Math.floor(pick * candidates.length)];
}

/** Parses `--faults a,b,c`; throws an Error naming the unknown kind and the valid ones. */
export function parseFaultKinds(text: string): FaultKind[] {
  const kinds = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (kinds.length === 0) throw new Error(`expected a comma-separated list of fault kinds (${FAULT_KINDS.join(', ')})`);
  for (const kind of kinds) {
    if (!(FAULT_KINDS as readonly string[]).includes(kind)) {
      throw new Error(`unknown fault kind "${kind}"; expected some of: ${FAULT_KINDS.join(', ')}`);
    }
  }
  return [...new Set(kinds)] as FaultKind[];
}

/** Latency added to every answer: a fixed number of milliseconds or a [min, max] range. */
export type Latency = number | readonly [min: number, max: number];

/** Parses `--latency MS` or `--latency MIN..MAX`; throws an Error saying what was expected. */
export function parseLatency(text: string): Latency {
  const m = /^\s*(\d+)\s*(?:\.\.\s*(\d+)\s*)?$/.exec(text);
  if (!m) throw new Error(`expected milliseconds as MS or MIN..MAX, got "${text}"`);
  const min = Number(m[1]);
  if (m[2] === undefined) return min;
  const max = Number(m[2]);
  if (max < min) throw new Error(`latency range ${min}..${max} has its maximum below its minimum`);
  return [min, max];
}

/** The delay for one answer: fixed, or uniform in [min, max] from the seeded source. */
export function latencyFor(random: Random, latency: Latency | undefined): number {
  if (latency === undefined) return 0;
  if (typeof latency === 'number') return Math.max(0, latency);
  const [min, max] = latency;
  return Math.round(min + random() * (max - min));
}
