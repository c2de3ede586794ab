import { startTestApp, type TestApp, type TestDatabase } from '../helpers/test-app';
import { consoleClient } from '../helpers/console-client';
import { importSampleOrg } from '../helpers/org-fixture';
import { DEPARTMENTS, INSIGHTS, type FixtureInsight } from '../fixtures/analysis/insights';

/** 10:00 in Shanghai on a YYYY-MM-DD date, plus some minutes. */
export function shanghai(date: string, minutes = 0): number {
  const [y, m, d] = date.split('-').map(Number);
  return Date.UTC(y, m - 1, d, 2, 0) + minutes * 60_000;
}

/** The fixture's unit: its departments (sizes as given), a liaison in each, the office and both leaders. */
export function fixtureOrg() {
  const people: { id: string; name: string; departmentIds: string[]; roles?: string[] }[] = [
    { id: 'wang', name: '王书记', departmentIds: ['root'], roles: ['secretary'] },
    { id: 'zhao', name: '赵处长', departmentIds: ['root'], roles: ['deputy'] },
    { id: 'liu', name: '刘主任', departmentIds: ['root'], roles: ['office'] },
  ];
  for (const d of DEPARTMENTS) {
    for (let p = 1; p <= d.size; p++) {
      people.push({ id: `${d.id}-p${p}`, name: `${d.name}${p}号`, departmentIds: [d.id], ...(p === 1 ? { roles: ['liaison'] } : {}) });
    }
  }
  return { departments: [{ id: 'root', name: '本单位' }, ...DEPARTMENTS.map((d) => ({ id: d.id, name: d.name, parentId: 'root' }))], people };
}

export const liaisonOf = (departmentId: string) => `${departmentId}-p1`;

export interface Clocked {
  t: TestApp;
  chat: ReturnType<typeof consoleClient>;
  clock: { now: number };
}

export async function startClockedApp(database: TestDatabase, env: Record<string, string> = {}, org: unknown = fixtureOrg()): Promise<Clocked> {
  const clock = { now: shanghai('2025-10-01') };
  const t = await startTestApp({ database, env, appOptions: { now: () => clock.now } });
  await importSampleOrg(t, org);
  return { t, chat: consoleClient(t), clock };
}

/** Reports every fixture insight through the bot, as its department's liaison, at its date. */
export async function reportFixture({ chat, clock }: Clocked, insights: FixtureInsight[] = INSIGHTS): Promise<void> {
  let i = 0;
  for (const insight of insights) {
    clock.now = shanghai(insight.date, i++ % 300);
    await chat.say(liaisonOf(insight.department), `上报 #${insight.category} ${insight.text}`);
  }
}
