import { Foundation1764100000000 } from './1764100000000-foundation';
import { Escalation1764200000000 } from './1764200000000-escalation';
import { LedgerCasesSuggestions1764300000000 } from './1764300000000-ledger-cases-suggestions';
import { DepartmentPlatform1764400000000 } from './1764400000000-department-platform';
import { KernelTimersFiles1764500000000 } from './1764500000000-kernel-timers-files';
import { RoleGrantSource1764510000000 } from './1764510000000-role-grant-source';
import { Analysis1764530000000 } from './1764530000000-analysis';
import { DataKeys1764540000000 } from './1764540000000-data-keys';
import { SharedPacing1764540000001 } from './1764540000001-shared-pacing';
import { Surveys1764550000000 } from './1764550000000-surveys';
import { Cycles1764560000000 } from './1764560000000-cycles';
import { UnitReports1764570000000 } from './1764570000000-unit-reports';
import { CardBatches1764580000000 } from './1764580000000-card-batches';
import { KeywordHashKeys1764590000000 } from './1764590000000-keyword-hash-keys';
import { ConnectionLeases1764600000000 } from './1764600000000-connection-leases';
import { OutboxClaimIndex1764610000000 } from './1764610000000-outbox-claim-index';
import { SurveyTallies1764620000000 } from './1764620000000-survey-tallies';

/** Every migration, in order (no globs): the same list runs on SQLite and MySQL. */
export const migrations = [
  Foundation1764100000000,
  Escalation1764200000000,
  LedgerCasesSuggestions1764300000000,
  DepartmentPlatform1764400000000,
  KernelTimersFiles1764500000000,
  RoleGrantSource1764510000000,
  Analysis1764530000000,
  DataKeys1764540000000,
  SharedPacing1764540000001,
  Surveys1764550000000,
  Cycles1764560000000,
  UnitReports1764570000000,
  CardBatches1764580000000,
  KeywordHashKeys1764590000000,
  ConnectionLeases1764600000000,
  OutboxClaimIndex1764610000000,
  SurveyTallies1764620000000,
];
