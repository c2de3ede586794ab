import type { Config } from '../config/load-config';
import type { Logger } from '../lib/logger';
import type { PlatformAdapter } from '../core/platform-adapter';
import type { PlatformLimits } from '../core/platform-limits';
import { createWecomAdapter } from './wecom/wecom-adapter';
import { createDingtalkAdapter } from './dingtalk/dingtalk-adapter';
import { createWecomRobotAdapter } from './wecom-robot/robot-adapter';

export interface PlatformDeps {
  config: Config;
  log: Logger;
  /** DingTalk's per-API and WeCom's per-member limits (shared by all instances on MySQL). */
  limits?: PlatformLimits;
}

/**
 * Builds the adapters of the platforms whose credentials are configured. The console platform is
 * built by the composition root itself because it needs the database (its inbox is the outbox).
 */
export function createPlatformAdapters(deps: PlatformDeps): PlatformAdapter[] {
  const adapters: PlatformAdapter[] = [];
  if (deps.config.wecom) adapters.push(createWecomAdapter({ config: deps.config.wecom, log: deps.log, limits: deps.limits }));
  if (deps.config.wecomRobot) adapters.push(createWecomRobotAdapter({ config: deps.config.wecomRobot, log: deps.log }));
  if (deps.config.dingtalk) adapters.push(createDingtalkAdapter({ config: deps.config.dingtalk, log: deps.log, limits: deps.limits }));
  return adapters;
}
