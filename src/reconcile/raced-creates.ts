/**
 * Closing the one race the API cannot prevent: two applies of the same manifest, planned at the same moment,
 * both create a key of the same description (the API has no unique names and no conditional create). Checking
 * before creating narrows the window but cannot close it, so after its creates each apply lists the project
 * again and, for every key it created that now has a twin created since its plan, keeps the oldest twin
 * (created_at, then uuid: the API's list order) and retires its own copy: renamed out of the way (so later plans
 * are not ambiguous) and deactivated. Each run only ever touches keys it created itself, so two runs doing this
 * at once agree: whichever finished creating last sees both keys and retires its own.
 */
import { descriptionLength, MAX_DESCRIPTION_LENGTH } from '../contract';
import type { KeysApi, LiveKey } from '../model';

/** A key this run created and then retired because another run created its twin first. */
export interface RetiredDuplicate {
  readonly description: string;
  /** This run's copy, now renamed and deactivated. */
  readonly retiredUuid: string;
  readonly retiredAs: string;
  /** The twin that stays. */
  readonly keptUuid: string;
}

/** The description a retired copy gets: the original, marked, still within the API's 255 characters. */
export function retiredDescription(description: string, uuid: string): string {
  const suffix = ` (duplicate ${uuid.slice(0, 8)}, retired by scaleflex-keys)`;
  // Counted in code points, as the contract counts descriptions: an emoji is never cut in half.
  return `${[...description].slice(0, MAX_DESCRIPTION_LENGTH - descriptionLength(suffix)).join('')}${suffix}`;
}

function older(a: LiveKey, b: LiveKey): number {
  return a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0;
}

/**
 * Finds and retires this run's duplicate creates (see the module comment).
 * @param created the keys this run created (uuid and description)
 * @param plannedUuids the uuids of the live keys the plan was computed from (twins must be newer than that)
 */
export async function retireRacedDuplicates(
  api: KeysApi,
  created: readonly { uuid: string; description: string }[],
  plannedUuids: ReadonlySet<string>,
): Promise<RetiredDuplicate[]> {
  if (created.length === 0) return [];
  const wanted = new Set(created.map((c) => c.description));
  const twins = new Map<string, LiveKey[]>();
  for await (const key of api.list()) {
    if (!key.active || plannedUuids.has(key.uuid) || !wanted.has(key.description)) continue;
    const list = twins.get(key.description) ?? [];
    list.push(key);
    twins.set(key.description, list);
  }
  const retired: RetiredDuplicate[] = [];
  for (const mine of created) {
    const same = (twins.get(mine.description) ?? []).sort(older);
    const kept = same[0];
    if (same.length < 2 || !kept || kept.uuid === mine.uuid || !same.some((k) => k.uuid === mine.uuid)) continue;
    const retiredAs = retiredDescription(mine.description, mine.uuid);
    await api.update(mine.uuid, { description: retiredAs });
    await api.setStatus([mine.uuid], false);
    retired.push({ description: mine.description, retiredUuid: mine.uuid, retiredAs, keptUuid: kept.uuid });
  }
  return retired;
}
