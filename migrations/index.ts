import { Foundation1764100000000 } from './1764100000000-foundation';
import { Escalation1764200000000 } from './1764200000000-escalation';
import { LedgerCasesSuggestions1764300000000 } from './1764300000000-ledger-cases-suggestions';
import { DepartmentPlatform1764400000000 } from './1764400000000-department-platform';
import { KernelTimersFiles1764500000000 } from './1764500000000-kernel-timers-files';
import { Surveys1764550000000 } from './1764550000000-surveys';

/** Every migration, in order (no globs): the same list runs on SQLite and MySQL. */
export const migrations = [Foundation1764100000000, Escalation1764200000000, LedgerCasesSuggestions1764300000000, DepartmentPlatform1764400000000, KernelTimersFiles1764500000000, Surveys1764550000000];
