import { parseEscalationSteps } from '../../src/modules/escalation/escalation-steps';
import { loadConfig } from '../../src/config/load-config';
import { ConfigError } from '../../src/core/errors';
import { createPacer } from '../../src/core/outbox';

describe('ESCALATION_STEPS', () => {
  it('defaults to PRODUCT.md §4: secretary with an office copy, then secretary and deputy, then the office told', () => {
    expect(parseEscalationSteps(undefined, 15 * 60_000)).toEqual({
      steps: [
        { afterMs: 0, targets: ['secretary', 'office'] },
        { afterMs: 15 * 60_000, targets: ['secretary', 'deputy'] },
        { afterMs: 15 * 60_000, targets: ['office-notice'] },
      ],
    });
  });

  it('takes a wait per step, spaces around commas, and the ack timeout for steps without one', () => {
    expect(parseEscalationSteps('secretary | 10m secretary, deputy | office-notice', 30_000)).toEqual({
      steps: [
        { afterMs: 0, targets: ['secretary'] },
        { afterMs: 10 * 60_000, targets: ['secretary', 'deputy'] },
        { afterMs: 30_000, targets: ['office-notice'] },
      ],
    });
  });

  it('refuses an unknown target, a bad wait, a wait on the first step and a first step without the secretary', () => {
    expect(parseEscalationSteps('secretary | 5m boss', 1000)).toEqual({ problem: expect.stringContaining('不认识的接收人「boss」') });
    expect(parseEscalationSteps('secretary | soon deputy', 1000)).toEqual({ problem: expect.stringContaining('「soon」不是时长') });
    expect(parseEscalationSteps('5m secretary', 1000)).toEqual({ problem: expect.stringContaining('第 1 步在报告保存后立即执行') });
    expect(parseEscalationSteps('office | deputy', 1000)).toEqual({ problem: expect.stringContaining('必须提醒书记') });
  });

  it('stops the program at start-up with a message naming the variable', () => {
    expect(() => loadConfig({ ESCALATION_STEPS: 'secretary | 5m boss' })).toThrow(ConfigError);
    expect(() => loadConfig({ ESCALATION_STEPS: 'secretary | 5m boss' })).toThrow(/ESCALATION_STEPS：第 2 步/);
    expect(() => loadConfig({ OUTBOX_LEASE: 'forever' })).toThrow(/OUTBOX_LEASE/);
    expect(loadConfig({ ESCALATION_ACK_TIMEOUT: '30s', OUTBOX_MAX_ATTEMPTS: '3' })).toMatchObject({
      escalation: { ackTimeoutMs: 30_000, steps: [{ afterMs: 0 }, { afterMs: 30_000 }, { afterMs: 30_000 }] },
      outbox: { maxAttempts: 3, leaseMs: 60_000 },
    });
  });
});

describe('createPacer', () => {
  it('lets calls through at once without a limit', async () => {
    const pacer = createPacer(undefined);
    for (let i = 0; i < 1000; i++) await pacer.take();
  });

  it('never grants more than the rate within a rolling second, and keeps up that rate', async () => {
    let clock = 0;
    // Virtual time: sleeping moves the clock, plus a little timer lateness.
    const pacer = createPacer(10, () => clock, async (ms) => {
      clock += ms + 3;
    });
    const granted: number[] = [];
    for (let i = 0; i < 35; i++) {
      await pacer.take();
      granted.push(clock);
    }
    for (let i = 10; i < granted.length; i++) expect(granted[i] - granted[i - 10]).toBeGreaterThanOrEqual(1000);
    // 35 calls at 10/s take about 3.4 s (one rolling window, 1.02 s, per ten), not more.
    expect(granted[34]).toBeLessThan(3 * 1020 + 1000);
  });

  it('holds every call for the pause after a rate-limit answer', async () => {
    let clock = 0;
    const pacer = createPacer(undefined, () => clock, async (ms) => {
      clock += ms;
    });
    await pacer.take();
    pacer.pause(1000);
    await pacer.take();
    expect(clock).toBeGreaterThanOrEqual(1000);
  });
});
