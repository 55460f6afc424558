/** `emulator`'s command line: definition and typed flags. */
import type { Command } from 'commander';
import { UsageError } from '../../errors';
import { collect, integer, ratio } from './common';

export interface EmulatorFlags {
  readonly host: string;
  readonly port: number;
  readonly stateDir: string;
  readonly project?: string[];
  readonly seed?: number;
  readonly latency?: string;
  readonly faultRate: number;
  readonly faults?: string;
  readonly stallMs: number;
  readonly rateLimit: number;
  readonly maxPageSize: number;
  readonly bulkMax: number;
  readonly quiet?: boolean;
  readonly extraPermission?: string[];
}

export function define(program: Command): Command {
  return program
    .command('emulator')
    .description('run the local Scaleflex-compatible key-management API until SIGINT/SIGTERM; exit 0 stopped, 1 an error')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 picks a free one)', integer(0, 65535), 8787)
    .option('--state-dir <dir>', 'where state, lock and bootstrap admin keys live', '.scaleflex-local')
    .option('--project <token>', 'a project to serve (repeatable; default: demo)', collect)
    .option('--seed <n>', 'seed for every random choice (faults, jitter)', integer(0))
    .option('--latency <ms>', 'delay added to every answer: MS or MIN..MAX')
    .option('--fault-rate <r>', 'fraction of requests answered with an injected fault', ratio, 0)
    .option('--faults <kinds>', 'comma-separated fault kinds to inject: http500, http503, http429, reset, stall, applied-then-reset (default: all)')
    .option('--stall-ms <ms>', "how long a stalled request is held before its connection is cut (longer than the client's timeouts)", integer(1), 65000)
    .option('--rate-limit <n>', 'requests per second per key (0: unlimited)', integer(0), 0)
    .option('--max-page-size <n>', 'largest page GET /keys serves', integer(1, 10000), 100)
    .option('--bulk-max <n>', 'most uuids POST /keys/status accepts', integer(1, 10000), 100)
    .option('--extra-permission <name>', 'also accept and report this permission beyond the 31 (repeatable; to test a client against a newer Scaleflex)', collect)
    .option('--quiet', 'do not log requests');
}

export function parseFlags(o: Record<string, unknown>, args: readonly string[]): EmulatorFlags {
  if (args.length > 0) throw new UsageError(`emulator takes no arguments, got ${args.map((a) => JSON.stringify(a)).join(' ')}`);
  return o as unknown as EmulatorFlags;
}
