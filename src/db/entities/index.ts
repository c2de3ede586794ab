import { DepartmentEntity, PersonDepartmentEntity, PersonEntity, RoleGrantEntity } from './org.entity';
import { CounterEntity, InsightEntity } from './insight.entity';
import { CardBatchEntity, CardDeliveryEntity, CardEntity, InboundEventEntity, OutboundMessageEntity } from './messaging.entity';
import { LedgerEntryEntity } from './ledger.entity';
import { EscalationEntity, EscalationEventEntity } from './escalation.entity';
import { InsightActionEntity } from './case.entity';
import { SealedReplyEntity, SuggestionEntity } from './suggestion.entity';
import { CycleEntity, CycleReportVersionEntity, CycleTaskEntity, LiaisonRecordEntity } from './cycle.entity';
import { ReviewMeetingEntity, UnitReportEntity } from './report.entity';
import { SurveyAnswerEntity, SurveyAnswerTallyEntity, SurveyDepartmentTallyEntity, SurveyEntity, SurveyParticipantEntity } from './survey.entity';
import { ReminderSlotEntity, StoredFileChunkEntity, StoredFileEntity, TimerEntity } from './kernel.entity';
import { AnalysisKeywordEntity, AnalysisTermEntity, AnalysisWarningEntity, InsightKeywordEntity, KeywordMonthDepartmentEntity, KeywordMonthEntity } from './analysis.entity';

/** Every entity, listed explicitly (no globs). */
export const entities = [
  DepartmentEntity,
  PersonEntity,
  PersonDepartmentEntity,
  RoleGrantEntity,
  InsightEntity,
  CounterEntity,
  InboundEventEntity,
  OutboundMessageEntity,
  CardEntity,
  CardDeliveryEntity,
  CardBatchEntity,
  LedgerEntryEntity,
  EscalationEntity,
  EscalationEventEntity,
  InsightActionEntity,
  SuggestionEntity,
  SealedReplyEntity,
  TimerEntity,
  ReminderSlotEntity,
  StoredFileEntity,
  StoredFileChunkEntity,
  AnalysisKeywordEntity, InsightKeywordEntity, AnalysisTermEntity, AnalysisWarningEntity, KeywordMonthEntity, KeywordMonthDepartmentEntity,
  ...[CycleEntity, CycleTaskEntity, CycleReportVersionEntity, LiaisonRecordEntity],
  UnitReportEntity,
  ReviewMeetingEntity,
  SurveyEntity, SurveyParticipantEntity, SurveyAnswerEntity, SurveyAnswerTallyEntity, SurveyDepartmentTallyEntity,
];
