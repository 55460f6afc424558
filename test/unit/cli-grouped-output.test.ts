/** Unit tests of grouped, deterministic output and of the bounded worker pool. */
import { runBounded } from '../../src/bounded';
import { GroupedOutput } from '../../src/cli/grouped-output';
import { confirmApply } from '../../src/cli/confirm';
import { NotConfirmedError } from '../../src/errors';
import type { Io } from '../../src/cli/io';

function sink() {
  const log: string[] = [];
  return { log, io: { out: (t: string) => void log.push(`out:${t}`), err: (t: string) => void log.push(`err:${t}`) } };
}

describe('GroupedOutput', () => {
  test('sections appear in their order whatever order they write and finish in', () => {
    const { log, io } = sink();
    const g = new GroupedOutput(io, 3);
    g.section(2).out('c1');
    g.section(1).err('b1');
    g.section(0).out('a1');
    g.finish(2);
    g.section(1).out('b2');
    expect(log).toEqual(['out:a1']);
    g.finish(0);
    expect(log).toEqual(['out:a1', 'err:b1', 'out:b2']);
    g.section(1).out('b3');
    g.finish(1);
    expect(log).toEqual(['out:a1', 'err:b1', 'out:b2', 'out:b3', 'out:c1']);
  });

  test('finishAll writes everything still held', () => {
    const { log, io } = sink();
    const g = new GroupedOutput(io, 2);
    g.section(1).out('late');
    g.finishAll();
    expect(log).toEqual(['out:late']);
  });
});

describe('runBounded', () => {
  test.each([1, 3, 8])('never runs more than %i at once and keeps results in item order', async (limit) => {
    let inFlight = 0;
    let peak = 0;
    const items = Array.from({ length: 20 }, (_, i) => i);
    const results = await runBounded(items, limit, async (n) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, (n * 7) % 5));
      inFlight--;
      if (n === 4) throw new Error('four');
      return n * 2;
    });
    expect(peak).toBeLessThanOrEqual(limit);
    expect(results[4]).toEqual({ status: 'rejected', reason: new Error('four') });
    expect(results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<number>).value)).toEqual(
      items.filter((n) => n !== 4).map((n) => n * 2),
    );
  });
});

describe('confirmApply', () => {
  const io = (stdinIsTTY: boolean, answer?: string): Io => ({
    env: {}, cwd: '.', stdoutIsTTY: stdinIsTTY, stdinIsTTY, out: () => undefined, err: () => undefined,
    readLine: async () => answer,
  });
  test.each([
    { name: 'auto-approve passes without asking', autoApprove: true, tty: false, answer: undefined, ok: true },
    { name: 'no terminal and no auto-approve is refused', autoApprove: false, tty: false, answer: 'yes', ok: false },
    { name: 'a terminal answering yes passes', autoApprove: false, tty: true, answer: 'yes', ok: true },
    { name: 'a terminal answering y is refused', autoApprove: false, tty: true, answer: 'y', ok: false },
    { name: 'end of input is refused', autoApprove: false, tty: true, answer: undefined, ok: false },
  ])('$name', async ({ autoApprove, tty, answer, ok }) => {
    const p = confirmApply(io(tty, answer), autoApprove);
    if (ok) await expect(p).resolves.toBeUndefined();
    else await expect(p).rejects.toThrow(NotConfirmedError);
  });
});
