/** Fingerprints are computed on first read only, once, and read exactly like the plain properties they replace. */
import * as crypto from 'node:crypto';

// Counts hashes: the only way to see that a fingerprint was (not) computed.
jest.mock('node:crypto', () => {
  const actual = jest.requireActual('node:crypto');
  return { ...actual, createHash: jest.fn(actual.createHash) };
});
import { buildPlan, desiredFingerprint, liveFingerprint, planProject } from '../../src/reconcile';
import { ADMIN, entry, live, project } from './reconcile-fixtures';

function plan() {
  const keys = [ADMIN, live('u1', 'a'), live('u2', 'b')];
  const desired = project([entry('a', ['OBJECTS_LIST']), entry('c', ['FILE_UPLOAD'])]);
  return { keys, desired, p: planProject({ desired, live: keys, selfKey: ADMIN, apiUrl: 'http://127.0.0.1:9/' }) };
}

describe('lazy fingerprints', () => {
  test('a plan is frozen without hashing anything; the first read hashes once', () => {
    const hash = crypto.createHash as jest.Mock;
    hash.mockClear();
    const { p, keys, desired } = plan();
    buildPlan([p]);
    expect(Object.isFrozen(p)).toBe(true);
    expect(hash).not.toHaveBeenCalled();
    expect(p.liveFingerprint).toBe(liveFingerprint(keys));
    expect(p.desiredFingerprint).toBe(desiredFingerprint(desired));
    const calls = hash.mock.calls.length;
    expect(p.liveFingerprint).toBe(liveFingerprint(keys));
    // Reading again costs nothing: the two comparisons above called liveFingerprint itself, not the plan.
    expect(hash.mock.calls.length).toBe(calls + 1);
  });

  test('they read like plain properties: in keys, spread, JSON and equality, in their place', () => {
    const { p, keys } = plan();
    expect(Object.keys(p).slice(0, 4)).toEqual(['project', 'apiUrl', 'liveFingerprint', 'desiredFingerprint']);
    expect({ ...p }.liveFingerprint).toBe(liveFingerprint(keys));
    expect(JSON.parse(JSON.stringify(p)).desiredFingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(p).toEqual({ ...p });
  });

  test('the listing is the one planned against, whatever the caller does to its array afterwards', () => {
    const { p, keys } = plan();
    const before = liveFingerprint(keys);
    keys.push(live('u9', 'late'));
    expect(p.liveFingerprint).toBe(before);
  });
});
