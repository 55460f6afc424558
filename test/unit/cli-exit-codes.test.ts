/** The one exit-code table: every error class's code, name and exit code, and the README kept identical to it. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as errors from '../../src/errors';
import { EXIT, EXIT_BY_CODE, EXIT_CODE_TABLE, EXIT_CODES_HELP, exitCodeFor } from '../../src/cli/exit-codes';
import { main } from '../../src/cli/main';
import type { Io } from '../../src/cli/io';

const expected: Record<string, { code: string; exit: number }> = {
  ScaleflexKeysError: { code: 'SCALEFLEX_KEYS_ERROR', exit: 1 },
  UsageError: { code: 'USAGE', exit: 1 },
  ManifestError: { code: 'MANIFEST_INVALID', exit: 1 },
  CredentialsError: { code: 'CREDENTIALS_MISSING', exit: 1 },
  InsufficientPermissionError: { code: 'KEY_LACKS_PERMISSION', exit: 1 },
  InsecureUrlError: { code: 'INSECURE_URL', exit: 1 },
  ScaleflexApiError: { code: 'API_ERROR', exit: 1 },
  ApiUnreachableError: { code: 'API_UNREACHABLE', exit: 1 },
  ReadOnlyClientError: { code: 'READ_ONLY_CLIENT', exit: 1 },
  AmbiguousMatchError: { code: 'AMBIGUOUS_MATCH', exit: 1 },
  PinnedKeyNotFoundError: { code: 'PINNED_KEY_NOT_FOUND', exit: 1 },
  GuardRefusedError: { code: 'GUARD_REFUSED', exit: 3 },
  StalePlanError: { code: 'STALE_PLAN', exit: 1 },
  ChangedSincePlanError: { code: 'CHANGED_SINCE_PLAN', exit: 1 },
  PlanFileError: { code: 'PLAN_INVALID', exit: 1 },
  NotConfirmedError: { code: 'NOT_CONFIRMED', exit: 1 },
  ApplyFailedError: { code: 'APPLY_FAILED', exit: 1 },
  SecretsFileError: { code: 'SECRETS_FILE', exit: 1 },
  StateLockedError: { code: 'STATE_LOCKED', exit: 1 },
  StateCorruptError: { code: 'STATE_CORRUPT', exit: 1 },
  PolicyViolationError: { code: 'POLICY_VIOLATION', exit: 4 },
  PreconditionFailedError: { code: 'PRECONDITION_FAILED', exit: 1 },
  RotationRefusedError: { code: 'ROTATION_REFUSED', exit: 1 },
  DeliveryError: { code: 'DELIVERY_FAILED', exit: 1 },
};

/** Every error class `src/errors.ts` exports, constructed with a message. */
function instances(): { cls: string; error: errors.ScaleflexKeysError }[] {
  return Object.entries(errors)
    .filter(([, v]) => typeof v === 'function' && (v === errors.ScaleflexKeysError || v.prototype instanceof errors.ScaleflexKeysError))
    .map(([cls, Ctor]) => {
      const C = Ctor as unknown as new (...args: unknown[]) => errors.ScaleflexKeysError;
      if (cls === 'ManifestError') return { cls, error: new C([]) };
      if (cls === 'ScaleflexApiError') return { cls, error: new C({ status: 500, apiCode: 'X', msg: 'm', method: 'GET', path: '/' }) };
      return { cls, error: new C('message') };
    });
}

describe('exit codes', () => {
  test('every error class is in this table (a new class must be added here, with its exit code)', () => {
    expect(instances().map((i) => i.cls).sort()).toEqual(Object.keys(expected).sort());
  });

  test.each(instances())('$cls has a stable code and name and maps to its exit code', ({ cls, error }) => {
    expect(error.name).toBe(cls);
    expect(error.code).toBe(expected[cls]!.code);
    expect(exitCodeFor(error)).toBe(expected[cls]!.exit);
  });

  test('nothing but "changes found" exits 2', () => {
    expect(EXIT.CHANGES).toBe(2);
    expect(Object.values(EXIT_BY_CODE)).not.toContain(2);
    expect(EXIT.USAGE).not.toBe(2);
    expect(exitCodeFor(new Error('bug'))).toBe(1);
  });

  test("the README's Exit codes section is the table, row for row", () => {
    const readme = fs.readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('<!-- section:exit-codes -->'), readme.indexOf('<!-- /section:exit-codes -->'));
    const rows = [...section.matchAll(/^\| (\d+) \| (.+) \|$/gm)].map((m) => [Number(m[1]), m[2]]);
    expect(rows).toEqual(EXIT_CODE_TABLE.map(([c, m]) => [c, m]));
  });

  test('--help of the program and of each command ends with the exit codes', async () => {
    for (const args of [['--help'], ['plan', '--help'], ['apply', '--help'], ['validate', '--help']]) {
      let out = '';
      const io: Io = { env: {}, cwd: process.cwd(), stdoutIsTTY: false, stdinIsTTY: false, out: (t) => void (out += t), err: (t) => void (out += t), readLine: async () => undefined };
      expect(await main(args, io)).toBe(0);
      expect(out).toContain(EXIT_CODES_HELP);
    }
  });

  test('a mistyped flag exits 1, never 2', async () => {
    const io: Io = { env: {}, cwd: process.cwd(), stdoutIsTTY: false, stdinIsTTY: false, out: () => undefined, err: () => undefined, readLine: async () => undefined };
    expect(await main(['plan', '--detailed-exitcod'], io)).toBe(1);
    expect(await main(['no-such-command'], io)).toBe(1);
  });

  test("an unknown option's inline value (`--api-key=VALUE`, perhaps a secret) is never printed back", async () => {
    const value = 'c0ffee0123456789abcdef0123456789';
    for (const args of [['plan', `--api-key=${value}`], ['secrets', 'push', `--token=${value}`], ['whois', `--secret=${value}`]]) {
      let printed = '';
      const io: Io = { env: {}, cwd: process.cwd(), stdoutIsTTY: false, stdinIsTTY: false, out: (t) => void (printed += t), err: (t) => void (printed += t), readLine: async () => undefined };
      expect(await main(args, io)).toBe(1);
      expect(printed).toContain(`unknown option '${args[args.length - 1]!.split('=')[0]}=…'`);
      expect(printed).not.toContain(value);
    }
  });
});
