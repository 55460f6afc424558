/** `scaleflex-keys import` — placeholder until its issue lands. */
import { ScaleflexKeysError } from '../../errors';
import type { Io } from '../io';

export async function run(_opts: Record<string, unknown>, _io: Io, _args: string[]): Promise<number> {
  throw new ScaleflexKeysError('import is not implemented yet');
}
