import { startTestApp } from '../helpers/test-app';

describe('health probes', () => {
  it('reports the process up, the database reachable and the outbox backlog', async () => {
    const t = await startTestApp();
    try {
      await t.request.get('/healthz').expect(200, { ok: true });
      const ready = await t.request.get('/readyz').expect(200);
      expect(ready.body.checks.database).toBe('ok');
      expect(ready.body.checks.outbox).toMatchObject({ pending: 0, oldestAgeMs: null });
      expect(ready.body.checks.inbound).toEqual({ waiting: 0, failed: 0 });
      await t.app.dataSource.destroy();
      const down = await t.request.get('/readyz').expect(503);
      expect(down.body.ready).toBe(false);
    } finally {
      await t.stop();
    }
  });
});
