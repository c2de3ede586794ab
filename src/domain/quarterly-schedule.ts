/*
 * The shape of the quarterly reporting schedule (QUARTERLY_CYCLE_OPENS / QUARTERLY_CYCLE_DUE). It is
 * configuration every turn can see (BotServices), so it lives with the domain's shared types rather
 * than in the cycles module: the kernel does not import feature modules.
 */

/** A day of the quarter's last month (1–28, so every month has it) and a local time. */
export interface DayTime {
  day: number;
  hour: number;
  minute: number;
}

export interface QuarterlyCycleSchedule {
  opens: DayTime;
  due: DayTime;
}
