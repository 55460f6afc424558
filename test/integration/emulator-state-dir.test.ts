/**
 * What the emulator writes into its state dir cannot be redirected: temp files are created exclusively with
 * random names (a symlink planted at the old predictable `<file>.<pid>.tmp` name, or at the journal's name,
 * receives nothing), and a state dir that others can write into is refused with `chmod 700 DIR` as the fix.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startEmulator } from '../../src/emulator';
import { StateCorruptError } from '../../src/errors';
import { removeDir, tempStateDir } from './emulator-contract';

const dirs: string[] = [];
function dir(): string {
  const d = tempStateDir();
  dirs.push(d);
  return d;
}

afterAll(() => {
  for (const d of dirs) removeDir(d);
});

describe('temp files in the state dir', () => {
  test('symlinks planted at the predictable temp names of the snapshot and an admin key receive nothing', async () => {
    const stateDir = dir();
    const outside = dir();
    // compactBytes 1: every batch of journal records is compacted into a snapshot, so snapshots are written.
    const em = await startEmulator({ stateDir, port: 0, compactBytes: 1 });
    try {
      const targets: string[] = [];
      for (const name of [`state.snapshot.json.${process.pid}.tmp`, `web.admin-key.${process.pid}.tmp`]) {
        const target = path.join(outside, `${name}.target`);
        fs.writeFileSync(target, '');
        fs.symlinkSync(target, path.join(stateDir, name));
        targets.push(target);
      }
      const seeded = await em.seedKeys('demo', [{ description: 'planted-link victim', permissions: ['OBJECTS_LIST'] }]);
      await em.ensureProject('web');
      await em.seedKeys('web', [{ description: 'second snapshot', permissions: [] }]);
      expect(fs.existsSync(path.join(stateDir, 'state.snapshot.json'))).toBe(true);
      for (const target of targets) expect(fs.readFileSync(target, 'utf8')).toBe('');
      expect(fs.readFileSync(path.join(stateDir, 'state.snapshot.json'), 'utf8')).toContain(seeded[0]!.secret);
      // Every file the emulator wrote is private.
      for (const name of ['state.snapshot.json', 'state.journal.jsonl', 'demo.admin-key', 'web.admin-key']) {
        expect(fs.lstatSync(path.join(stateDir, name)).mode & 0o777).toBe(0o600);
      }
    } finally {
      await em.close();
    }
  });

  test('a symlink in place of the journal is refused with StateCorruptError, and its target receives nothing', async () => {
    const stateDir = dir();
    const target = path.join(dir(), 'journal-target');
    fs.writeFileSync(target, '');
    fs.symlinkSync(target, path.join(stateDir, 'state.journal.jsonl'));
    const start = startEmulator({ stateDir, port: 0 });
    await expect(start).rejects.toBeInstanceOf(StateCorruptError);
    await expect(start).rejects.toThrow(/state\.journal\.jsonl is a symbolic link/);
    expect(fs.readFileSync(target, 'utf8')).toBe('');
    expect(fs.existsSync(path.join(stateDir, 'emulator.lock'))).toBe(false);
  });
});

describe('state dir permissions', () => {
  test.each([
    { name: 'world-writable (0777)', mode: 0o777, who: /writable by its group and others \(mode 0777\)/ },
    { name: 'group-writable (0770)', mode: 0o770, who: /writable by its group \(mode 0770\)/ },
    { name: 'world-writable with the sticky bit (1777)', mode: 0o1777, who: /writable by its group and others \(mode 1777\)/ },
  ])('a $name state dir is refused with StateCorruptError saying chmod 700 DIR, and nothing is written', async ({ mode, who }) => {
    const stateDir = dir();
    fs.chmodSync(stateDir, mode);
    const start = startEmulator({ stateDir, port: 0 });
    await expect(start).rejects.toBeInstanceOf(StateCorruptError);
    await expect(start).rejects.toThrow(who);
    await expect(start).rejects.toMatchObject({ code: 'STATE_CORRUPT', hint: expect.stringContaining(`chmod 700 ${stateDir}`) });
    expect(fs.readdirSync(stateDir)).toEqual([]);
  });

  test('a state dir the emulator creates is 0700; one that is 0700 or 0755 is accepted', async () => {
    const parent = dir();
    const created = path.join(parent, 'new-state');
    const em = await startEmulator({ stateDir: created, port: 0 });
    await em.close();
    expect(fs.statSync(created).mode & 0o777).toBe(0o700);
    fs.chmodSync(created, 0o755);
    const again = await startEmulator({ stateDir: created, port: 0 });
    expect(again.projects()).toEqual(['demo']);
    await again.close();
  });
});
