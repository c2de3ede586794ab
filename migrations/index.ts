import { Foundation1764100000000 } from './1764100000000-foundation';

/** Every migration, in order (no globs): the same list runs on SQLite and MySQL. */
export const migrations = [Foundation1764100000000];
