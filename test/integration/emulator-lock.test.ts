/**
 * The state-dir lock under contention: several real processes start an emulator on the same state dir at the
 * same instant, against the lock a dead owner left behind. Exactly one may win, and the state dir must load
 * afterwards (two winners would both create the project: STATE_CORRUPT "created twice"). Also: the lock
 * records where the owner listens, and `runningEmulator` finds a live owner only. Children run the compiled
 * `dist/emulator` (`npm run build` first).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { runningEmulator, startEmulator } from '../../src/emulator';
import { removeDir, tempStateDir } from './emulator-contract';

const DIST = path.join(__dirname, '../../dist/emulator/index.js');
const STARTERS = 4;
const TRIALS = 30;

/**
 * A long-lived starter process: on `start DIR AT` it waits until the wall clock reaches AT (so all starters
 * go at once), tries startEmulator, and answers `held URL`, `locked` or `error CODE MESSAGE`; on `close` it
 * closes the emulator it holds and answers `closed`.
 */
const STARTER_SCRIPT = `
const { startEmulator } = require(${JSON.stringify(DIST)});
const rl = require('node:readline').createInterface({ input: process.stdin });
let held;
rl.on('line', async (line) => {
  const [cmd, dir, at] = line.split(' ');
  if (cmd === 'start') {
    while (Date.now() < Number(at)) {}
    try {
      held = await startEmulator({ stateDir: dir, port: 0, projects: ['demo'] });
      console.log('held ' + held.url);
    } catch (error) {
      console.log(error.code === 'STATE_LOCKED' ? 'locked' : 'error ' + error.code + ' ' + error.message);
    }
  } else if (cmd === 'close') {
    if (held) await held.close();
    held = undefined;
    console.log('closed');
  }
});
`;

interface Starter {
  proc: ChildProcess;
  next(): Promise<string>;
  send(line: string): void;
}

function spawnStarter(): Starter {
  const proc = spawn(process.execPath, ['-e', STARTER_SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  readline.createInterface({ input: proc.stdout! }).on('line', (line) => {
    const w = waiting.shift();
    if (w) w(line);
    else lines.push(line);
  });
  return {
    proc,
    next: () => (lines.length > 0 ? Promise.resolve(lines.shift()!) : new Promise((resolve) => waiting.push(resolve))),
    send: (line) => proc.stdin!.write(`${line}\n`),
  };
}

/** A pid that belonged to a process which has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(child.stdout.trim());
}

const dirs: string[] = [];
const starters: Starter[] = [];

afterAll(() => {
  for (const s of starters) s.proc.kill('SIGKILL');
  for (const dir of dirs) removeDir(dir);
});

describe('taking over a dead owner\'s lock', () => {
  test(`${TRIALS} trials of ${STARTERS} processes starting at once on a dead owner's lock: exactly one holds it, and the state dir loads afterwards`, async () => {
    if (!fs.existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npm run build\` first (npm test does)`);
    for (let i = 0; i < STARTERS; i++) starters.push(spawnStarter());
    const dead = deadPid();
    const failures: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const dir = tempStateDir();
      dirs.push(dir);
      // The lock of a killed owner, in this version's form and in the older `{pid}`-only form.
      const lock =
        trial % 2 === 0
          ? { pid: dead, started: new Date().toISOString(), nonce: `dead${trial}`, url: 'http://127.0.0.1:1' }
          : { pid: dead };
      fs.writeFileSync(path.join(dir, 'emulator.lock'), JSON.stringify(lock));

      const at = Date.now() + 100;
      for (const s of starters) s.send(`start ${dir} ${at}`);
      const answers = await Promise.all(starters.map((s) => s.next()));
      const winners = answers.filter((a) => a.startsWith('held '));
      const others = answers.filter((a) => !a.startsWith('held ') && a !== 'locked');
      if (winners.length !== 1 || others.length > 0) failures.push(`trial ${trial}: ${answers.join(' | ')}`);
      if (winners.length === 1) {
        const url = winners[0]!.slice('held '.length);
        const running = runningEmulator(dir);
        if (running?.url !== url) failures.push(`trial ${trial}: the lock names ${running?.url}, the winner listens on ${url}`);
      }
      for (const s of starters) s.send('close');
      await Promise.all(starters.map((s) => s.next()));

      // The state dir loads: one project, one bootstrap admin key, and its key file matches.
      const em = await startEmulator({ stateDir: dir, port: 0 });
      try {
        expect(em.projects()).toEqual(['demo']);
        expect(fs.readFileSync(em.adminKeyFile('demo'), 'utf8')).toBe(em.adminKey('demo'));
      } finally {
        await em.close();
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);
});

describe('the lock records where the emulator listens', () => {
  test('runningEmulator gives the live owner\'s pid and URL, and nothing once it is closed or when the owner is dead', async () => {
    const dir = tempStateDir();
    dirs.push(dir);
    expect(runningEmulator(dir)).toBeUndefined();
    const em = await startEmulator({ stateDir: dir, port: 0 });
    const lock = JSON.parse(fs.readFileSync(path.join(dir, 'emulator.lock'), 'utf8'));
    expect(lock).toMatchObject({ pid: process.pid, url: em.url });
    expect(typeof lock.started).toBe('string');
    expect(runningEmulator(dir)).toEqual({ pid: process.pid, url: em.url });
    await em.close();
    expect(runningEmulator(dir)).toBeUndefined();

    fs.writeFileSync(path.join(dir, 'emulator.lock'), JSON.stringify({ pid: deadPid(), started: 'x', url: em.url }));
    expect(runningEmulator(dir)).toBeUndefined();
  });
});
