/**
 * Authorization is linearizable: a mutation's caller is checked in the same synchronous step that applies the
 * change, so two concurrent requests whose keys deactivate each other never both succeed — with latency in
 * front of both, and after a restart (replay decides the same way).
 */
import type { Agent } from 'undici';
import { type EmulatorHandle, startEmulator } from '../../src/emulator';
import { ContractChecker, newAgent, ProjectClient, removeDir, tempStateDir } from './emulator-contract';

const TRIALS = 30;
const dir = tempStateDir();
let emulator: EmulatorHandle;
let agent: Agent;
let api: ProjectClient;

beforeAll(async () => {
  emulator = await startEmulator({ stateDir: dir, port: 0, latencyMs: [0, 15], seed: 3 });
  agent = newAgent();
  api = new ProjectClient(`${emulator.url}/demo/v5`, agent, await ContractChecker.load());
});

afterAll(async () => {
  await agent.close();
  await emulator.close();
  removeDir(dir);
});

const MANAGER = ['ACCESS_MANAGE', 'ACCESS_READ'];

type Attack = (api: ProjectClient, by: { secret: string }, target: { uuid: string }) => Promise<{ status: number; body: any }>;

const attacks: { name: string; run: Attack }[] = [
  { name: 'POST /keys/status', run: (c, by, t) => c.call('POST', '/keys/status', { key: by.secret, body: { uuids: [t.uuid], active: false } }) },
  { name: 'PATCH /keys/{uuid}', run: (c, by, t) => c.call('PATCH', `/keys/${t.uuid}`, { key: by.secret, body: { active: false } }) },
  { name: 'PATCH /keys/{uuid} removing ACCESS_MANAGE', run: (c, by, t) => c.call('PATCH', `/keys/${t.uuid}`, { key: by.secret, body: { permissions: ['ACCESS_READ'] } }) },
];

describe('two keys that take each other\'s rights at the same time', () => {
  test.each(attacks)(`${TRIALS} trials with latency, both by $name: exactly one succeeds, the other is refused with 403`, async ({ name, run }) => {
    const outcomes: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const [a, b] = await emulator.seedKeys('demo', [
        { description: `mutual-${name}-${trial}-a`, permissions: MANAGER },
        { description: `mutual-${name}-${trial}-b`, permissions: MANAGER },
      ]);
      const [ra, rb] = await Promise.all([run(api, a!, b!), run(api, b!, a!)]);
      const statuses = [ra.status, rb.status].sort();
      const loser = ra.status === 200 ? rb : ra;
      const expected = name.includes('ACCESS_MANAGE') ? 'PERMISSION_DENIED' : 'KEY_DEACTIVATED';
      if (statuses[0] !== 200 || statuses[1] !== 403 || loser.body.code !== expected) {
        outcomes.push(`trial ${trial}: ${ra.status} ${ra.body.code ?? ''} / ${rb.status} ${rb.body.code ?? ''}`);
      }
    }
    expect(outcomes).toEqual([]);
  }, 60_000);

  test('a create by a key that another request deactivates at the same time either lands before it or is refused', async () => {
    const problems: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const [victim] = await emulator.seedKeys('demo', [{ description: `creator-${trial}`, permissions: MANAGER }]);
      const [create, deactivate] = await Promise.all([
        api.call('POST', '/keys', { key: victim!.secret, body: { description: `made-by-${trial}`, permissions: [] } }),
        api.call('POST', '/keys/status', { key: emulator.adminKey('demo'), body: { uuids: [victim!.uuid], active: false } }),
      ]);
      if (deactivate.status !== 200) problems.push(`trial ${trial}: deactivate answered ${deactivate.status}`);
      if (create.status !== 201 && !(create.status === 403 && create.body.code === 'KEY_DEACTIVATED')) {
        problems.push(`trial ${trial}: create answered ${create.status} ${create.body.code}`);
      }
      // `updated` counts what the deactivation changed when it was applied: 1, whatever the order.
      if (deactivate.body.updated !== 1) problems.push(`trial ${trial}: updated ${deactivate.body.updated}`);
    }
    expect(problems).toEqual([]);
  }, 60_000);

  test('after a restart, replay reaches the same state (refused records stay without effect)', async () => {
    const list = async (e: EmulatorHandle): Promise<string[]> => {
      const c = new ProjectClient(`${e.url}/demo/v5`, agent);
      const out: string[] = [];
      let cursor: string | null = null;
      do {
        const res: any = await c.call('GET', `/keys${cursor ? `?cursor=${cursor}` : ''}`, { key: e.adminKey('demo') });
        out.push(...res.body.keys.map((k: any) => `${k.uuid} ${k.active} ${k.permissions.join(',')} ${k.description}`));
        cursor = res.body.next_cursor;
      } while (cursor);
      return out;
    };
    const before = await list(emulator);
    await emulator.close();
    emulator = await startEmulator({ stateDir: dir, port: 0 });
    expect(await list(emulator)).toEqual(before);
  });
});
