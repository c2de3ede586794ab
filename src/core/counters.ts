import type { EntityManager } from 'typeorm';
import { CounterEntity } from '../db/entities/insight.entity';
import { isDuplicateKeyError } from '../db/data-source';

/**
 * Increments a named counter inside the caller's transaction and returns the new value. The UPDATE
 * takes the row lock first, so concurrent transactions on MySQL get distinct values.
 */
export async function nextCounterValue(em: EntityManager, name: string): Promise<number> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const updated = await em
      .createQueryBuilder()
      .update(CounterEntity)
      .set({ value: () => 'value + 1' })
      .where('name = :name', { name })
      .execute();
    if (updated.affected) {
      const row = await em.findOneByOrFail(CounterEntity, { name });
      return row.value;
    }
    try {
      await em.insert(CounterEntity, { name, value: 1 });
      return 1;
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
  }
  throw new Error(`counter ${name} could not be incremented`);
}
