/**
 * Worker-thread entry that reads and validates the desired state off the main thread, so that a large
 * manifest's parse (about 0.6 s for 10,000 keys) overlaps with listing live keys instead of preceding it.
 * Posts `{ state }`, `{ manifestError: { diagnostics, message } }`, or `{ retryInThread: true }` for anything
 * else (the main thread then reads it itself and reports the error the usual way).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ManifestError } from '../errors';
import { loadDesiredState } from '../manifest';

const opts = workerData as { file?: string; fromCdktf?: string; cwd: string };
try {
  parentPort!.postMessage({ state: loadDesiredState(opts) });
} catch (error) {
  if (error instanceof ManifestError) {
    parentPort!.postMessage({ manifestError: { diagnostics: error.diagnostics, message: error.message } });
  } else {
    parentPort!.postMessage({ retryInThread: true });
  }
}
