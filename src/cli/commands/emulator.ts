/**
 * `scaleflex-keys emulator` — runs the local Scaleflex-compatible key-management API until SIGINT/SIGTERM.
 * Prints the URL and, per project, where its bootstrap admin key is stored (never the key itself), then
 * one line per request unless `--quiet`. On a signal: stops listening, flushes the journal, releases the lock.
 */
import * as path from 'node:path';
import { ScaleflexKeysError, UsageError } from '../../errors';
import { checkExtraPermissions, checkProjectToken, type FaultKind, parseFaultKinds, parseLatency, startEmulator } from '../../emulator';
import { secrets } from '../../redact';
import type { Io } from '../io';

interface EmulatorCliOptions {
  host: string;
  port: number;
  stateDir: string;
  project?: string[];
  seed?: number;
  latency?: string;
  faultRate: number;
  faults?: string;
  stallMs: number;
  rateLimit: number;
  maxPageSize: number;
  bulkMax: number;
  extraPermission?: string[];
  quiet?: boolean;
}

function usage(fn: () => void): void {
  try {
    fn();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

export async function run(opts: EmulatorCliOptions, io: Io): Promise<number> {
  let latencyMs: number | [number, number] | undefined;
  let faults: FaultKind[] | undefined;
  usage(() => {
    if (opts.latency !== undefined) {
      const parsed = parseLatency(opts.latency);
      latencyMs = typeof parsed === 'number' ? parsed : [parsed[0], parsed[1]];
    }
    if (opts.faults !== undefined) faults = parseFaultKinds(opts.faults);
    for (const token of opts.project ?? []) checkProjectToken(token);
    checkExtraPermissions(opts.extraPermission ?? []);
  });
  const stateDir = path.resolve(io.cwd, opts.stateDir);

  let handle;
  try {
    handle = await startEmulator({
      stateDir,
      host: opts.host,
      port: opts.port,
      ...(opts.project ? { projects: opts.project } : {}),
      ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
      ...(latencyMs !== undefined ? { latencyMs } : {}),
      faultRate: opts.faultRate,
      ...(faults ? { faults } : {}),
      stallMs: opts.stallMs,
      rateLimit: opts.rateLimit,
      maxPageSize: opts.maxPageSize,
      bulkMax: opts.bulkMax,
      ...(opts.extraPermission ? { extraPermissions: opts.extraPermission } : {}),
      ...(opts.quiet ? {} : { log: (line: string) => io.out(`${line}\n`) }),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new ScaleflexKeysError(`cannot listen on ${opts.host}:${opts.port}: ${code}`, {
        hint: 'choose another --port (0 picks a free one) or --host',
      });
    }
    throw error;
  }

  const signal = untilSignal();
  for (const token of handle.projects()) secrets.add(handle.adminKey(token));
  io.out(`scaleflex-keys emulator listening on ${handle.url}\n`);
  if (!isLoopback(opts.host)) {
    io.err(`warning: listening on ${opts.host}, not loopback: plain HTTP, so anyone who can reach it can read keys sent to it\n`);
  }
  io.out(`state dir: ${stateDir}\n`);
  for (const token of handle.projects()) {
    io.out(`project ${token}: ${handle.url}/${token}/v5 (admin key in ${handle.adminKeyFile(token)})\n`);
  }

  const received = await signal;
  io.out(`received ${received}; stopping\n`);
  await handle.close();
  return 0;
}
