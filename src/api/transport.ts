/**
 * The HTTP layer of the client: one undici `Agent` (a keep-alive `Pool` per origin; at most `parallelism`
 * requests in flight per origin and per key, plus the self checks sent beside a first page, see `companion`)
 * composed with two interceptors, outermost first:
 *
 *  1. undici's own retry interceptor (`interceptors.retry`, the engine of `RetryAgent`) for every call, with
 *     our `retry` decision function. We keep undici's machinery (re-dispatch, dropping failed bodies, passing
 *     the final answer through with `throwOnError: false`) but decide ourselves, because its default cannot:
 *     it backs off exponentially without jitter, does not read `RateLimit-Reset`, has no overall deadline,
 *     never retries PATCH or the bulk status POST, and cannot express "POST /keys: retry an answered 429/503
 *     but never a reset or timeout" (which may have committed). Its default also sleeps out the backoff
 *     while holding the failed answer's connection; our decision only records the wait, and the attempt
 *     interceptor below sleeps it out after the connection is free.
 *  2. `paceAndTrace`, which sees every single attempt (first tries and undici's retries alike): it waits out
 *     the backoff the decision chose, then a concurrency permit and a token of the key's bucket, enforces the
 *     per-attempt deadline, learns `RateLimit-*` and the server's clock from each answer, and writes one
 *     trace line per attempt.
 *
 * One case is left to `send`: a failure after a 2xx's headers arrived (the body broke off). undici would
 * resume it with a `Range` request, which a JSON API does not serve, so we refuse that inside the decision
 * and re-issue the whole request from `send`, on the same attempt budget.
 *
 * Nothing here ever prints the `X-Filerobot-Key` header: traces name method, path (without query), status,
 * attempt and milliseconds; every message passes through `redact()`.
 */
import { createHash } from 'node:crypto';
// undici's parts are loaded file by file: its index also loads fetch, WebSocket, caches and mocks, which took
// 60 ms of every command's start against 20 ms for the agent and the retry interceptor (`node -e "require(...)"`,
// node 20).
import Agent = require('undici/lib/dispatcher/agent');
import retryInterceptor = require('undici/lib/interceptor/retry');
import type { Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'undici/types/header';
import { ApiUnreachableError, ScaleflexApiError } from '../errors';
import { redact } from '../redact';
import { isLoopbackHost } from '../trust';
import {
  DEFAULT_RETRY_POLICY,
  NOT_SENT_ERROR_CODES,
  RETRYABLE_ERROR_CODES,
  RETRYABLE_STATUSES,
  nextRetryDelay,
  parseRateLimitHeaders,
  parseRetryAfter,
  type RetryPolicy,
} from './backoff';
import { KEY_HEADER } from '../contract';
import { TokenBucket } from './pacing';
import { errorFromBody } from './wire';

/** Timeouts of one attempt. */
export interface Timeouts {
  /** Establishing the TCP (and TLS) connection. */
  readonly connectMs: number;
  /** From sending the request to the answer's headers. */
  readonly headersMs: number;
  /** The longest silence while the body arrives. */
  readonly bodyMs: number;
  /** The whole attempt, from the request leaving the pool's queue to the end of the body. */
  readonly requestMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = Object.freeze({ connectMs: 10_000, headersMs: 30_000, bodyMs: 30_000, requestMs: 60_000 });

/**
 * The largest answer body read (bytes). A page of 100 keys is ~30 KiB; anything near this is not the Scaleflex
 * API, and reading it whole would exhaust memory (undici's `maxResponseSize` stops it mid-stream).
 */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/** Network failures that cannot succeed on a retry to a host that is not loopback: nothing listens, no such name. */
const FAIL_FAST_REMOTE_CODES: readonly string[] = Object.freeze(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

/** What every no-answer hint says: the real settings that help. */
export const NO_ANSWER_HINT =
  'check that the API URL is right and reachable (--api-url, the manifest\'s apiUrl, SCALEFLEX_API_URL); on a slow link give each call longer with --timeout <seconds>; then run the command again';

/** Concurrent connections per origin unless the caller says otherwise. */
export const DEFAULT_PARALLELISM = 8;

export interface TransportOptions {
  /** Concurrent requests per origin and per key (a `companion` call aside). */
  readonly parallelism?: number;
  readonly timeouts?: Partial<Timeouts>;
  readonly retry?: Partial<RetryPolicy>;
  /** Receives one line per attempt: method, path, status (or error code), attempt, ms. Already redacted. */
  readonly trace?: (line: string) => void;
  /** [0, 1) source for jitter; tests pass a seeded one. */
  readonly random?: () => number;
  /** The largest answer body read; default MAX_RESPONSE_BYTES. */
  readonly maxResponseBytes?: number;
}

/** Where a call goes and how it may be retried. */
export interface CallSpec {
  readonly origin: string;
  /** Path and query, percent-encoded, with the API URL's own prefix. */
  readonly path: string;
  readonly method: 'GET' | 'POST' | 'PATCH';
  readonly apiKey: string;
  /** `apiKeyId(apiKey)`: the caller hashes its key once (a channel does), not once per request. */
  readonly keyId: string;
  readonly body?: string;
  /**
   * 'idempotent': retried on every retryable status and network failure.
   * 'answered-only': retried only on 429 and 503 (refused before any work was done) and on failures to
   * connect (never sent); any other network failure or 5xx is returned/thrown at once, for the caller to
   * resolve (POST /keys).
   */
  readonly retry: 'idempotent' | 'answered-only';
  /**
   * The call rides alongside another of the same key (the self check that `open` sends with page 1, one per
   * open): it takes none of the origin's or the key's permits, so that it costs no round of its own. The
   * origin's pool has a connection for it (see the Transport constructor).
   */
  readonly companion?: boolean;
}

/** An answer: any status. */
export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  readonly requestId?: string;
  /** Attempts made for this answer, the answered one included. */
  readonly attempts: number;
  readonly elapsedMs: number;
}

/** No answer at all (reset, refused, timeout), after every attempt the policy allowed. */
export class NoAnswerError extends ApiUnreachableError {
  override name = 'NoAnswerError';
  constructor(
    message: string,
    readonly networkCode: string,
    readonly attempts: number,
    readonly elapsedMs: number,
    hint: string,
  ) {
    super(message, { hint });
  }
}

const kCall = Symbol('scaleflex-keys.call');

/** What the transport's per-key state is filed under: the key's SHA-256, never the key. */
export function apiKeyId(apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('hex');
}

/** The per-call state shared by the retry decision and the attempt interceptor. */
interface CallState {
  readonly method: string;
  /** The path without its query string: what traces and errors show. */
  readonly label: string;
  readonly bucket: BucketState;
  /** The origin's permits (`parallelism` requests in flight), or undefined for a companion call (no permits). */
  readonly origin: Permits | undefined;
  readonly clock: ServerClock;
  readonly policy: RetryPolicy;
  readonly requestMs: number;
  readonly retryStatuses: readonly number[];
  readonly retryErrors: readonly string[];
  readonly startedAt: number;
  /** For idempotent GETs: the origin's latencies, which set a short per-attempt timeout (see LatencyTracker). */
  readonly latency: LatencyTracker | undefined;
  /** The origin, to tell whether it is loopback when a failure needs it (the local emulator may be restarting). */
  readonly originUrl: string;
  /** The status of the latest answer's headers (for the message when its body is too large). */
  lastStatus: number;
  attempt: number;
  /** Attempts of this call that ran out of time: a read's adaptive timeout doubles after each (only after those). */
  timedOut: number;
  notBefore: number;
  /** The current attempt received 2xx headers (so a failure now is a broken body). */
  bodyStarted: boolean;
  /** The answer's end handed the origin's permit to a waiting request, whose write undici has yet to make. */
  handedOn: boolean;
}

/** Pacing state of one (origin, key): its token bucket, its concurrency permits, its requests in flight. */
interface BucketState {
  readonly bucket: TokenBucket;
  readonly permits: Permits;
  inFlight: number;
}

/**
 * The concurrency limit of one key on one origin (the origin's own limit is its pool's connection count).
 * Attempts wait here, not in undici's pool queue, so that each takes its token from the bucket only when it
 * can actually be sent, with the latest `RateLimit-*` already learnt: a queue inside the pool would have
 * passed the pacer long before. Per key rather than per origin, so that one project waiting out its quota
 * does not hold up another project's requests.
 */
export class Permits {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(size: number) {
    this.free = size;
  }

  /** Calls `run` once a permit is free (now, or when one is released). */
  acquire(run: () => void): void {
    if (this.free > 0) {
      this.free -= 1;
      run();
    } else {
      this.waiting.push(run);
    }
  }

  /** Hands the permit to the first waiting attempt, or frees it; true when an attempt got it (and is being sent). */
  release(): boolean {
    const next = this.waiting.shift();
    if (next) next();
    else this.free += 1;
    return next !== undefined;
  }

  /** Attempts waiting for a permit (for tests). */
  get queued(): number {
    return this.waiting.length;
  }
}

/** The offset between the server's clock (its `Date` header) and ours, per origin. */
export class ServerClock {
  private offsetMs: number | undefined;
  /** The last `Date` header and its time: answers within a second carry the same one. */
  private lastHeader = '';
  private lastAt = Number.NaN;
  observe(dateHeader: string | undefined, localNow: number): void {
    if (!dateHeader) return;
    if (dateHeader !== this.lastHeader) {
      this.lastHeader = dateHeader;
      this.lastAt = Date.parse(dateHeader);
    }
    if (!Number.isNaN(this.lastAt)) this.offsetMs = this.lastAt - localNow;
  }
  /**
   * The server's time at local time `localMs`, or undefined when no `Date` was seen. `Date` has a resolution
   * of one second (truncated), so the result may be up to a second (plus a round trip) early.
   */
  serverTime(localMs: number): number | undefined {
    return this.offsetMs === undefined ? undefined : localMs + this.offsetMs;
  }
}

/**
 * Latencies of answered reads on one origin (time from the request being written to the end of its body), for
 * the short, adaptive timeout of idempotent reads ("The Tail at Scale": a read that takes many times longer
 * than its peers is more likely stalled than slow, and asking again is cheaper than waiting). A ring of the
 * latest samples; no estimate until enough were seen, so a run starts with the fixed timeouts.
 */
export class LatencyTracker {
  private readonly samples: number[] = [];
  private next = 0;
  static readonly SIZE = 256;
  static readonly MIN_SAMPLES = 4;
  /** The adaptive timeout is this multiple of the 95th percentile… */
  static readonly FACTOR = 4;
  /**
   * …but never below this (loopback timer noise, a GC pause): ~5x a 20 ms round trip. A read timed out too early
   * only costs a second request, and after a timeout the next attempt's limit doubles.
   */
  static readonly FLOOR_MS = 100;

  /**
   * The timeout of a read's attempt before enough latencies were seen: a run's first reads (the self
   * check, page 1) would otherwise wait out the fixed 30 s header timeout on a stall, which at the head of a
   * sequential page chain is the whole tail. 2 s is ~100x a loopback round trip and ~10x a slow WAN one; it
   * doubles after each attempt that timed out (2, 4, 8, 16 s...), so a server that is merely slow is still waited for.
   */
  static readonly INITIAL_MS = 2_000;

  /** `round`: 1 + the attempts of the call that already timed out. */
  static initialTimeoutMs(round: number): number {
    return LatencyTracker.INITIAL_MS * 2 ** Math.max(0, round - 1);
  }

  /** The 95th percentile as last sorted, and the samples recorded since (it is re-sorted every few samples). */
  private p95: number | undefined;
  private unsorted = 0;
  /** Re-sorting 256 samples before every request was ~15 ms of CPU in a 500-project plan's profile; a few samples late is as good. */
  static readonly RESORT_EVERY = 8;

  record(ms: number): void {
    if (this.samples.length < LatencyTracker.SIZE) this.samples.push(ms);
    else this.samples[this.next] = ms;
    this.next = (this.next + 1) % LatencyTracker.SIZE;
    this.unsorted += 1;
  }

  /** The timeout of a read's attempt in `round` (1 + its attempts that timed out), doubling per round; undefined while unknown. */
  timeoutMs(round: number): number | undefined {
    if (this.samples.length < LatencyTracker.MIN_SAMPLES) return undefined;
    if (this.p95 === undefined || this.unsorted >= LatencyTracker.RESORT_EVERY || this.samples.length < 2 * LatencyTracker.RESORT_EVERY) {
      // A typed array sorts numerically without a comparator call per comparison: several times faster.
      const sorted = Float64Array.from(this.samples).sort();
      this.p95 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))]!;
      this.unsorted = 0;
    }
    return Math.max(LatencyTracker.FLOOR_MS, this.p95 * LatencyTracker.FACTOR) * 2 ** Math.max(0, round - 1);
  }
}

class AttemptDeadlineError extends Error {
  override name = 'AttemptDeadlineError';
  readonly code = 'SFK_ATTEMPT_DEADLINE';
}

function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Watches one attempt: per-attempt deadline, rate-limit learning, the trace line. */
class AttemptHandler implements Dispatcher.DispatchHandler {
  private readonly started = Date.now();
  private sentAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private status: number | undefined;
  private done = false;

  constructor(
    private readonly call: CallState,
    private readonly inner: Dispatcher.DispatchHandler,
    private readonly trace: ((line: string) => void) | undefined,
  ) {
    call.bucket.inFlight += 1;
  }

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    // The attempt's own limit, cut short by the call's overall deadline (--timeout) so no attempt outlives it,
    // and for a read by the adaptive timeout: a stalled read is asked again instead of waited out.
    this.sentAt = Date.now();
    const latency = this.call.latency;
    // Doubled after each attempt that timed out, not after every failure: a read that met a reset or a 500 and is
    // now stalled is no slower a server than one stalled at once.
    const round = 1 + this.call.timedOut;
    const adaptive = latency ? (latency.timeoutMs(round) ?? LatencyTracker.initialTimeoutMs(round)) : Infinity;
    const limit = Math.max(1, Math.min(this.call.requestMs, adaptive, this.call.startedAt + this.call.policy.deadlineMs - this.sentAt));
    this.timer = setTimeout(() => controller.abort(new AttemptDeadlineError(`the attempt took longer than ${limit} ms`)), limit);
    this.inner.onRequestStart?.(controller, context);
  }

  onRequestUpgrade(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, socket: import('node:stream').Duplex): void {
    this.inner.onRequestUpgrade?.(controller, statusCode, headers, socket);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    const now = Date.now();
    this.status = statusCode;
    this.call.lastStatus = statusCode;
    this.call.bodyStarted = statusCode < 300;
    this.call.clock.observe(firstHeader(headers.date), now);
    const { bucket } = this.call.bucket;
    bucket.observe(parseRateLimitHeaders(headers, now), now, this.call.bucket.inFlight - 1);
    if (statusCode === 429) {
      const wait = parseRetryAfter(firstHeader(headers['retry-after']), now) ?? parseRateLimitHeaders(headers, now).resetMs ?? 1000;
      bucket.backOff(now, wait);
    }
    this.inner.onResponseStart?.(controller, statusCode, headers, statusMessage ?? '');
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.inner.onResponseData?.(controller, chunk);
  }

  onResponseEnd(controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    if (this.call.latency && this.status !== undefined && this.status < 300 && this.sentAt) this.call.latency.record(Date.now() - this.sentAt);
    this.finish(String(this.status));
    this.inner.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: Dispatcher.DispatchController | null, err: Error): void {
    this.finish((err as { code?: string }).code ?? err.name);
    // Our own deadline aborts through the controller; undici's retry handler would then treat the attempt as
    // cancelled by the caller and not retry. Handing it no controller lets the retry decision see it.
    const ours = err instanceof AttemptDeadlineError;
    if (ours) this.call.timedOut += 1;
    this.inner.onResponseError?.((ours ? null : controller) as Dispatcher.DispatchController, err);
  }

  private finish(outcome: string): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.call.bucket.inFlight -= 1;
    if (this.call.origin) {
      this.call.bucket.permits.release();
      this.call.handedOn = this.call.origin.release();
    }
    if (this.trace) {
      this.trace(redact(`${this.call.method} ${this.call.label} ${outcome} attempt=${this.call.attempt} ${Date.now() - this.started}ms`));
    }
  }
}

/** The inner interceptor: waits (backoff, then token bucket), then sends one attempt under an AttemptHandler. */
function paceAndTrace(trace: ((line: string) => void) | undefined): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    const call = (opts as unknown as Record<symbol, CallState | undefined>)[kCall];
    if (!call) return dispatch(opts, handler);
    const send = () => {
      call.attempt += 1;
      call.bodyStarted = false;
      const attempt = new AttemptHandler(call, handler, trace);
      try {
        dispatch(opts, attempt);
      } catch (err) {
        attempt.onResponseError(null, err as Error);
      }
    };
    // Backoff first (holding nothing), then one of the origin's permits and one of the key's (a companion takes
    // neither), then a token of its bucket. Always in that order, so no two attempts wait on each other's permits.
    const reserve = () => {
      const wait = call.bucket.bucket.take(Date.now());
      if (wait > 0) setTimeout(send, wait);
      else send();
    };
    const origin = call.origin;
    const queue = () => (origin ? origin.acquire(() => call.bucket.permits.acquire(reserve)) : reserve());
    const backoff = call.notBefore - Date.now();
    if (backoff > 0) setTimeout(queue, backoff);
    else queue();
    return true;
  };
}

/** The retry decision handed to undici's retry handler, bound to one call. */
function retryDecision(call: CallState, random: () => number) {
  return (err: Error & { statusCode?: number; code?: string; headers?: Record<string, string | string[] | undefined> }, _ctx: unknown, cb: (err?: Error | null) => void): void => {
    const now = Date.now();
    const answered = err.code === 'UND_ERR_REQ_RETRY' && typeof err.statusCode === 'number';
    const retryable = answered
      ? call.retryStatuses.includes(err.statusCode!)
      : !call.bodyStarted && call.retryErrors.includes(err.code ?? '') && (!FAIL_FAST_REMOTE_CODES.includes(err.code ?? '') || isLoopbackHost(new URL(call.originUrl).hostname));
    if (!retryable) return cb(err);
    const delay = nextRetryDelay(
      { attempt: call.attempt, startedAt: call.startedAt, now, ...(answered ? { status: err.statusCode!, headers: err.headers ?? {} } : {}) },
      call.policy,
      random,
    );
    if (delay === undefined) return cb(err);
    call.notBefore = now + delay;
    cb(null);
  };
}

/** The shared HTTP machinery: one per KeysApiFactory. */
export class Transport {
  private readonly agent: Agent;
  private readonly dispatcher: Dispatcher;
  private readonly buckets = new Map<string, BucketState>();
  private readonly parallelism: number;
  private readonly clocks = new Map<string, ServerClock>();
  readonly timeouts: Timeouts;
  readonly policy: RetryPolicy;
  readonly random: () => number;
  readonly maxResponseBytes: number;

  constructor(opts: TransportOptions = {}) {
    this.maxResponseBytes = opts.maxResponseBytes ?? MAX_RESPONSE_BYTES;
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    this.policy = { ...DEFAULT_RETRY_POLICY, ...opts.retry };
    this.random = opts.random ?? Math.random;
    const parallelism = Math.max(1, Math.floor(opts.parallelism ?? DEFAULT_PARALLELISM));
    this.parallelism = parallelism;
    this.agent = new Agent({
      // `parallelism` requests in flight (the origin's permits) plus as many companions (the self check `open`
      // sends with page 1): with one connection each, the self checks of a round of projects queued behind the
      // pages and every project paid a second round trip (500 projects x 50 keys, 20 ms: ~1.3 s). Then as many
      // again, because undici hands a keep-alive connection back only on the next check phase (setImmediate)
      // after its answer: the next project's requests would wait for it behind the rest of that turn's work
      // (0.9 ms a request at the median, 13 ms at p99, in that plan). Idle connections are opened only when needed.
      connections: 4 * parallelism,
      pipelining: 1,
      // Keep-alive: undici follows the server's Keep-Alive hint (minus a safety margin), else 4 s idle.
      headersTimeout: this.timeouts.headersMs,
      bodyTimeout: this.timeouts.bodyMs,
      // TLS is verified by Node's defaults; nothing here may set rejectUnauthorized.
      connect: { timeout: this.timeouts.connectMs },
      maxResponseSize: opts.maxResponseBytes ?? MAX_RESPONSE_BYTES,
    });
    this.dispatcher = this.agent.compose(paceAndTrace(opts.trace), retryInterceptor());
  }

  private readonly latencies = new Map<string, LatencyTracker>();

  private latencyOf(origin: string): LatencyTracker {
    let l = this.latencies.get(origin);
    if (!l) this.latencies.set(origin, (l = new LatencyTracker()));
    return l;
  }

  /** The server clock of an origin (for deciding which keys a failed create may have made). */
  clock(origin: string): ServerClock {
    let c = this.clocks.get(origin);
    if (!c) this.clocks.set(origin, (c = new ServerClock()));
    return c;
  }

  private readonly originPermits = new Map<string, Permits>();

  private permitsOf(origin: string): Permits {
    let p = this.originPermits.get(origin);
    if (!p) this.originPermits.set(origin, (p = new Permits(this.parallelism)));
    return p;
  }

  private bucketFor(origin: string, keyId: string): BucketState {
    // The map is keyed by a hash so that the key itself is held in one place only (the caller's channel).
    const id = `${origin} ${keyId}`;
    let b = this.buckets.get(id);
    if (!b) this.buckets.set(id, (b = { bucket: new TokenBucket(), permits: new Permits(this.parallelism), inFlight: 0 }));
    return b;
  }

  /**
   * Sends one call with retries as its spec allows. Resolves with the final answer whatever its status;
   * throws NoAnswerError when no answer came.
   */
  async send(spec: CallSpec): Promise<Answer> {
    const call: CallState = {
      method: spec.method,
      label: spec.path.split('?')[0]!,
      bucket: this.bucketFor(spec.origin, spec.keyId),
      origin: spec.companion ? undefined : this.permitsOf(spec.origin),
      clock: this.clock(spec.origin),
      policy: this.policy,
      requestMs: this.timeouts.requestMs,
      retryStatuses: spec.retry === 'idempotent' ? RETRYABLE_STATUSES : [429, 503],
      retryErrors: spec.retry === 'idempotent' ? RETRYABLE_ERROR_CODES : NOT_SENT_ERROR_CODES,
      startedAt: Date.now(),
      latency: spec.method === 'GET' && spec.retry === 'idempotent' ? this.latencyOf(spec.origin) : undefined,
      originUrl: spec.origin,
      lastStatus: 0,
      attempt: 0,
      timedOut: 0,
      notBefore: 0,
      bodyStarted: false,
      handedOn: false,
    };
    const headers: Record<string, string> = { accept: 'application/json', [KEY_HEADER]: spec.apiKey };
    if (spec.body !== undefined) headers['content-type'] = 'application/json';
    for (;;) {
      try {
        const res = await exchange(this.dispatcher, {
          origin: spec.origin,
          path: spec.path,
          method: spec.method,
          headers,
          ...(spec.body === undefined ? {} : { body: spec.body }),
          retryOptions: { throwOnError: false, retry: retryDecision(call, this.random) },
          [kCall]: call,
        } as Dispatcher.DispatchOptions);
        // The request this answer's permit went to leaves first: undici writes it from a setImmediate, and reading
        // this answer (its JSON, its keys) before that would hold it back, and with it every request freed in
        // the same turn (500 projects x 50 keys at 20 ms: ~3 ms a round).
        if (call.handedOn) await afterQueuedWrites();
        const requestId = firstHeader(res.headers['x-request-id']);
        return {
          status: res.status,
          headers: res.headers,
          text: res.text,
          ...(requestId ? { requestId } : {}),
          attempts: call.attempt,
          elapsedMs: Date.now() - call.startedAt,
        };
      } catch (e) {
        const err = e as Error & { code?: string };
        const code = err.code ?? err.name;
        if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') {
          throw new ScaleflexApiError({
            status: call.lastStatus,
            apiCode: 'ANSWER_TOO_LARGE',
            msg: `the answer's body is larger than ${this.maxResponseBytes} bytes, far more than any answer of the Scaleflex API`,
            hint: 'the API URL may point at something that is not the Scaleflex API; check --api-url / SCALEFLEX_API_URL',
            method: spec.method,
            path: call.label,
            message: redact(
              `${spec.method} ${call.label}: the answer from ${spec.origin} (${call.lastStatus}) is larger than ${this.maxResponseBytes} bytes, so it was not read`,
            ),
          });
        }
        // A body that broke off after 2xx headers: re-issue the whole request (idempotent calls only).
        if (spec.retry === 'idempotent' && call.bodyStarted && RETRYABLE_ERROR_CODES.includes(code)) {
          const now = Date.now();
          const delay = nextRetryDelay({ attempt: call.attempt, startedAt: call.startedAt, now }, call.policy, this.random);
          if (delay !== undefined) {
            call.notBefore = now + delay;
            continue;
          }
        }
        const elapsed = Date.now() - call.startedAt;
        throw new NoAnswerError(
          redact(
            `${spec.method} ${call.label}: no answer from ${spec.origin} after ${call.attempt} attempt${call.attempt === 1 ? '' : 's'} ` +
              `in ${(elapsed / 1000).toFixed(1)} s (${code}: ${err.message})`,
          ),
          code,
          call.attempt,
          elapsed,
          NO_ANSWER_HINT,
        );
      }
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/**
 * Sends one call through the dispatcher (retries and pacing included) and collects its final answer, the body as
 * text. A handler of our own rather than undici's `request()`: no body stream to build and drain, about 17 µs less
 * CPU a request (measured against a local server), which a plan spends on its one thread between an answer and the
 * next request (500 projects x 50 keys at 20 ms: ~20 ms).
 */
function exchange(dispatcher: Dispatcher, opts: Dispatcher.DispatchOptions): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let headers: IncomingHttpHeaders = {};
    let chunks: Buffer[] = [];
    const handler: Dispatcher.DispatchHandler = {
      // undici tells a handler of its current API from a legacy one by this method: it must be there.
      onRequestStart: () => undefined,
      onResponseStart: (_controller, statusCode, responseHeaders) => {
        status = statusCode;
        headers = responseHeaders;
        chunks = [];
      },
      onResponseData: (_controller, chunk) => {
        chunks.push(chunk);
      },
      onResponseEnd: () => resolve({ status, headers, text: (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8') }),
      onResponseError: (_controller, err) => reject(err),
    };
    try {
      dispatcher.dispatch(opts, handler);
    } catch (err) {
      reject(err);
    }
  });
}

/**
 * Resolves on the check phase after the next one. undici writes a request on a reused keep-alive connection from a
 * setImmediate of its own, queued when the request is dispatched (or when a connection comes free, itself on a
 * setImmediate): work queued on this turn's check phase would run before those writes.
 */
export function afterQueuedWrites(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

/** Parses an answer's JSON body; undefined when it is not JSON. */
export function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Turns a failed answer into a ScaleflexApiError with an actionable message (redacted). */
export function apiErrorFrom(
  spec: { method: string; path: string },
  answer: Answer,
  context: { project: string; credentialSource: string },
): ScaleflexApiError {
  const body = errorFromBody(parseJson(answer.text));
  const apiCode = body?.code ?? `HTTP_${answer.status}`;
  const msg = redact(body?.msg || `the server answered ${answer.status} without an error body`);
  const label = spec.path.split('?')[0]!;
  const after = answer.attempts > 1 ? ` after ${answer.attempts} attempts in ${(answer.elapsedMs / 1000).toFixed(1)} s` : '';
  const hint = redact(body?.hint ?? defaultHint(answer.status, apiCode, context));
  return new ScaleflexApiError({
    status: answer.status,
    apiCode,
    msg,
    hint,
    ...(answer.requestId ? { requestId: answer.requestId } : {}),
    method: spec.method,
    path: label,
    message: redact(
      `${spec.method} ${label} failed${after}: ${answer.status} ${apiCode}: ${msg}` + (answer.requestId ? ` (request id ${answer.requestId})` : ''),
    ),
  });
}

function defaultHint(status: number, apiCode: string, ctx: { project: string; credentialSource: string }): string {
  switch (apiCode) {
    case 'KEY_INVALID':
      return `check the key in ${ctx.credentialSource}: it is not a key of project ${ctx.project}`;
    case 'KEY_DEACTIVATED':
      return `the key in ${ctx.credentialSource} is deactivated: activate it in Scaleflex DAM or use another admin key`;
    case 'PERMISSION_DENIED':
      return `give the key in ${ctx.credentialSource} the permission named above (Scaleflex DAM: Settings > Project > Access > API keys)`;
    case 'PROJECT_NOT_FOUND':
      return `check the project token ${ctx.project} and the API URL`;
    case 'NOT_FOUND':
      return 'the key may have been removed or the uuid is wrong; run plan again';
    case 'RATE_LIMITED':
      return 'the API kept rate limiting; lower --parallelism or run again later';
    default:
      if (status >= 500) return 'the API failed repeatedly; run the command again later (it is safe to repeat)';
      return 'see the message above';
  }
}
