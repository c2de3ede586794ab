import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import cron, { type ScheduledTask } from 'node-cron';
import type { DataSource } from 'typeorm';
import type Koa from 'koa';
import type { Config } from './config/load-config';
import { createDataSource, createTransact, type Transact } from './db/data-source';
import { startWalCheckpointer, type WalCheckpointer } from './db/wal-checkpointer';
import { databaseStartupError, listenStartupError } from './config/startup-errors';
import { createLogger, type Logger } from './lib/logger';
import { createDataCipher, type KeyedCipher } from './lib/data-cipher';
import { resolveDataKeys } from './lib/data-key';
import { createAnalysis } from './modules/analysis/analysis-commands';
import { deriveKeywordKeys } from './modules/analysis/keyword-hash';
import { themesForPeriod } from './modules/analysis/analysis-queries';
import { projectRoot } from './lib/project-root';
import { loadCardCatalog } from './cards/card-catalog';
import { createCardStore } from './core/card-store';
import { createOutboxDispatcher, createPacer, enqueueOutbound, sentSince, type OutboxDispatcher } from './core/outbox';
import { createConnectionLease } from './core/connection-lease';
import { createLocalLimits, createSharedLimits } from './core/platform-limits';
import { createInboundStore, type InboundStore } from './core/inbound-store';
import type { PlatformName } from './core/messages';
import { createBot, type Bot } from './bot/bot';
import type { BotModule, BotServices } from './bot/turn-context';
import { insightModule } from './modules/insights/insight-commands';
import { orgModule } from './modules/org/org-commands';
import { caseModule } from './modules/cases/case-commands';
import { suggestionModule } from './modules/suggestions/suggestion-commands';
import { summaryModule } from './modules/summary/summary-command';
import { surveyModule } from './modules/surveys/survey-commands';
import { surveyFacts } from './modules/surveys/survey-queries';
import { escalationModule } from './modules/escalation/escalation-commands';
import { cycleModule } from './modules/cycles/cycle-commands';
import { departmentReportFacts, supervisionFacts } from './modules/cycles/cycle-queries';
import { createEscalationWorker, type EscalationWorker } from './modules/escalation/escalation-worker';
import { createReportModule } from './modules/report/report-commands';
import type { FactSources } from './domain/facts';
import { checkDataKeys } from './core/data-keys';
import { retentionTimerHandlers, scheduleNightlyRetention } from './core/retention';
import { createTimerWorker, type TimerWorker } from './core/timers';
import { notifyPeople } from './bot/job-context';
import { createHolidayCalendar, readHolidayOverrides } from './core/holiday-calendar';
import { createReminderPolicy } from './core/reminder-policy';
import { createInboundFilePreparer } from './core/inbound-files';
import { mimeTypeFor, storeFile } from './core/file-store';
import { createDeadLetterAlert } from './modules/escalation/dead-letter-alert';
import { describeSync, syncDirectories } from './modules/org/directory-sync';
import { createPlatformAdapters } from './platforms';
import type { AdapterServices, PlatformAdapter } from './core/platform-adapter';
import { createConsoleRouter } from './platforms/console/console-routes';
import { createHttpServer, type Readiness } from './http/create-http-server';
import type Router from '@koa/router';

export interface AppOptions {
  log?: Logger;
  now?: () => number;
  /** Replaces the configured platform adapters (tests, benchmarks). */
  adapters?: PlatformAdapter[];
  /** Fact providers merged over the wired ones (tests inject fakes of other modules' facts). */
  facts?: Partial<FactSources>;
}

export interface XinshengApp {
  config: Config;
  log: Logger;
  dataSource: DataSource;
  transact: Transact;
  cipher: KeyedCipher;
  /** What handlers get (the CLI's report uses the same facts and settings). */
  services: BotServices;
  bot: Bot;
  inbound: InboundStore;
  outbox: OutboxDispatcher;
  /** Runs due steps of immediate-report escalations (PRODUCT.md §4), on the timers. */
  escalations: EscalationWorker;
  /** The one durable timer worker (escalation steps, deadlines, reminders, cycle openings …). */
  timers: TimerWorker;
  adapters: PlatformAdapter[];
  koa: Koa;
  /** Runs pending migrations. */
  migrate(): Promise<string[]>;
  /** Refuses a missing or wrong data key for the stored data (DataKeyError) and registers the key that encrypts. */
  checkDataKeys(): Promise<void>;
  /** Migrates, then serves HTTP, connects platforms and starts the dispatcher and jobs. */
  start(): Promise<{ port: number }>;
  stop(): Promise<void>;
  /** Reads every connected platform's directory into the database (`xinsheng org sync`, nightly). */
  syncDirectories(): Promise<string[]>;
}

/** The bot's modules, in the order their commands appear in 帮助. */
export const botModules: BotModule[] = [insightModule, escalationModule, caseModule, summaryModule, cycleModule, suggestionModule, surveyModule, orgModule];

/** Connects to DATABASE_URL; a failure names the variable (`DATABASE_URL：无法连接数据库 …`). */
async function openDatabase(database: Config['database']): Promise<DataSource> {
  try {
    const dataSource = createDataSource(database);
    await dataSource.initialize();
    return dataSource;
  } catch (error) {
    throw databaseStartupError(error, database);
  }
}

/** The composition root: the one place that builds objects. Connects to the database, serves nothing yet. */
export async function createApp(config: Config, options: AppOptions = {}): Promise<XinshengApp> {
  const log = options.log ?? createLogger(config.logLevel);
  const now = options.now ?? Date.now;
  const cipher = createDataCipher(resolveDataKeys(config, log));
  const dataSource = await openDatabase(config.database);
  const transact = createTransact(dataSource);
  const catalog = loadCardCatalog(path.join(projectRoot(), 'bot-cards'));
  const cards = createCardStore(catalog, cipher);
  // Several instances share one MySQL database: they share the platforms' limits too.
  const limits = config.database.type === 'mysql' ? createSharedLimits({ transact, log }) : createLocalLimits();
  const adapters = options.adapters ?? createPlatformAdapters({ config, log, limits });
  const byName = new Map<string, PlatformAdapter>(adapters.map((a) => [a.name, a]));
  const primary: PlatformName = adapters.find((a) => a.name !== 'console')?.name ?? 'console';
  const calendar = createHolidayCalendar(config.reminders.holidaysFile ? readHolidayOverrides(config.reminders.holidaysFile) : {});
  const reminders = createReminderPolicy({ timeZone: config.timeZone, quietHours: config.reminders.quietHours, calendar });

  const analysis = createAnalysis({ cipher, keywordKeys: deriveKeywordKeys(cipher.keys), ...config.analysis, minGroupSize: config.minGroupSize, timeZone: config.timeZone });
  const services: BotServices = {
    cipher,
    cards,
    log,
    timeZone: config.timeZone,
    minGroupSize: config.minGroupSize,
    minCommentGroupSize: config.minCommentGroupSize,
    reminders,
    surveyReminders: config.surveyReminders,
    quarterlyCycle: config.quarterlyCycle,
    facts: {
      themes: (em, _services, range, options) =>
        themesForPeriod(em, { cipher, ...config.analysis, timeZone: config.timeZone }, range, { departmentIds: options?.departmentId ? [options.departmentId] : null }),
      surveys: surveyFacts,
      departmentReports: departmentReportFacts,
      supervision: supervisionFacts,
      ...options.facts,
    },
    platformFor: (person) => (person.platform && byName.has(person.platform) ? (person.platform as PlatformName) : primary),
    directories: () =>
      adapters.filter((a) => a.fetchDirectory).map((a) => ({ platform: a.name, fetch: () => a.fetchDirectory!() })),
    syncDirectories: () => app.syncDirectories(),
    wakeTimers: () => timers.kick(),
    notifyLater: async (personIds, content) => {
      await transact((em) => notifyPeople(em, services, personIds, content, now()));
      outbox.kick();
    },
    now,
    onInsightRecorded: analysis.onInsightRecorded,
    onInsightCorrected: analysis.onInsightCorrected,
    onDepartmentReportSubmitted: analysis.onDepartmentReportSubmitted,
  };
  const bot = createBot(services, [...botModules, analysis.module, createReportModule(config.report)]);
  const outbox = createOutboxDispatcher({
    transact,
    cipher,
    log,
    adapters,
    instanceId: config.instanceId,
    now,
    maxAttempts: config.outbox.maxAttempts,
    leaseMs: config.outbox.leaseMs,
    // Several instances share one MySQL database: they share each platform's rate limit too.
    pacerFor: (platform, rate) => (rate ? limits.pacer(`outbox:${platform}`, rate) : createPacer(rate)),
    onDeadLetter: createDeadLetterAlert({ transact, services, log, now, afterCommit: () => outbox.kick() }),
    onSent: (rows) => escalations.recordDeliveries(rows),
  });
  const escalations = createEscalationWorker({ transact, services, steps: config.escalation.steps, now, runDueTimers: (kinds) => timers.runDue(kinds) });
  const retention = retentionTimerHandlers({ years: config.retentionYears, timeZone: config.timeZone, onRun: (run) => log.info({ counts: run.counts, total: run.total }, 'retention run') });
  const timerHandlers = new Map([...Object.entries(escalations.timerHandlers()), ...bot.timerHandlers(), ...Object.entries(retention)]);
  const timers = createTimerWorker({ transact, log, now, handlers: () => timerHandlers, afterCommit: () => outbox.kick() });
  const inbound = createInboundStore({
    dataSource,
    transact,
    cipher,
    log,
    now,
    handler: (em, event) => bot.handle(em, event),
    prepare: createInboundFilePreparer({ adapters, transact, cipher, log, now }),
    afterCommit: () => outbox.kick(),
    onGiveUp: async (event) => {
      const to = event.conversation.kind === 'group' ? { kind: 'group' as const, groupId: event.conversation.id } : { kind: 'user' as const, userId: event.senderId };
      const text = '抱歉，处理您的消息时出错，未能完成。请稍后重试；如多次失败，请联系机关党委。';
      await transact((em) => enqueueOutbound(em, cipher, { platform: event.platform, recipients: [to], content: { kind: 'text', text }, eventId: event.id }, now()));
      outbox.kick();
    },
  });

  const adapterServices: AdapterServices = {
    // Leases time real seconds between instances: the wall clock, never a test's fixed `now`.
    connectionLease: (name, timing) => createConnectionLease({ transact, name, instanceId: config.instanceId, now: Date.now, ...timing }),
    sentSince: (platform, since) => transact((em) => sentSince(em, cipher, platform, since)),
  };

  const routers: Router[] = adapters.flatMap((a) => (a.routes ? [a.routes()] : []));
  if (config.console) {
    const storeUpload = async (file: { name: string; data: Buffer }) =>
      (await transact((em) => storeFile(em, cipher, { purpose: 'upload', name: file.name, mimeType: mimeTypeFor(file.name), data: file.data }, now()))).id;
    routers.push(createConsoleRouter({ dataSource, cipher, acceptAndProcess: (e) => inbound.acceptAndProcess(e), storeUpload, now }));
  }
  const koa = createHttpServer({ log, routers, trustProxy: config.http.trustProxy, readiness: () => readiness(dataSource, inbound, outbox, adapters) });

  let server: http.Server | null = null;
  let checkpointer: WalCheckpointer | null = null;
  let jobs: ScheduledTask[] = [];

  const app: XinshengApp = {
    config,
    log,
    dataSource,
    transact,
    cipher,
    services,
    bot,
    inbound,
    outbox,
    escalations,
    timers,
    adapters,
    koa,
    async migrate() {
      const ran = await dataSource.runMigrations({ transaction: 'each' });
      return ran.map((m) => m.name);
    },
    checkDataKeys: () => checkDataKeys(transact, cipher, now()),
    async start() {
      const ran = await app.migrate();
      if (ran.length) log.info({ migrations: ran }, 'migrations applied');
      await app.checkDataKeys();
      // SQLite: WAL checkpoints off the event loop while serving (src/db/wal-checkpointer.ts).
      checkpointer = startWalCheckpointer(dataSource, log);
      server = http.createServer(koa.callback());
      await new Promise<void>((resolve, reject) => {
        server!.once('error', (error) => reject(listenStartupError(error, config.http)));
        server!.listen(config.http.port, config.http.host, () => resolve());
      });
      for (const adapter of adapters) await adapter.start(inbound, adapterServices);
      inbound.start();
      outbox.start();
      await transact(async (em) => {
        await bot.onStart(em, now());
        if (config.retentionYears) await scheduleNightlyRetention(em, config.timeZone, now());
      });
      timers.start();
      jobs = scheduleJobs(app);
      const port = (server.address() as AddressInfo).port;
      log.info({ port, platforms: adapters.map((a) => a.name), console: config.console }, 'xinsheng is serving');
      return { port };
    },
    async stop() {
      for (const job of jobs) await job.stop();
      jobs = [];
      if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
      server = null;
      for (const adapter of adapters) await adapter.stop();
      await inbound.stop();
      await timers.stop();
      await outbox.stop();
      await checkpointer?.stop();
      checkpointer = null;
      if (dataSource.isInitialized) await dataSource.destroy();
    },
    async syncDirectories() {
      return (await syncDirectories(services.directories(), transact, now)).map(describeSync);
    },
  };
  return app;
}

/** Nightly directory sync (02:30 in the unit's time zone), when a platform can read its directory. */
function scheduleJobs(app: XinshengApp): ScheduledTask[] {
  if (!app.adapters.some((a) => a.fetchDirectory)) return [];
  const task = cron.schedule(
    '30 2 * * *',
    async () => {
      try {
        const results = await app.syncDirectories();
        app.log.info({ results }, 'nightly directory sync done');
      } catch (error) {
        app.log.error({ err: error }, 'nightly directory sync failed');
      }
    },
    { name: 'directory-sync', timezone: app.config.timeZone, noOverlap: true },
  );
  return [task];
}

async function readiness(dataSource: DataSource, inbound: InboundStore, outbox: OutboxDispatcher, adapters: PlatformAdapter[]): Promise<Readiness> {
  const checks: Record<string, unknown> = {};
  let ready = true;
  try {
    await dataSource.query('SELECT 1');
    checks.database = 'ok';
    checks.inbound = await inbound.backlog();
    checks.outbox = await outbox.backlog();
  } catch (error) {
    ready = false;
    checks.database = `unreachable: ${(error as Error).message}`;
  }
  for (const adapter of adapters) {
    const problems = adapter.configurationProblems?.() ?? [];
    const connection = adapter.connectionStatus?.();
    checks[adapter.name] = problems.length || connection ? { ...(connection ? { connection } : {}), ...(problems.length ? { problems } : {}) } : 'ok';
    if (problems.length) ready = false;
  }
  return { ready, checks };
}
