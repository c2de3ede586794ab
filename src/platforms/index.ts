import type { Config } from '../config/load-config';
import type { Logger } from '../lib/logger';
import type { PlatformAdapter } from '../core/platform-adapter';
import { createWecomAdapter } from './wecom/wecom-adapter';
import { createDingtalkAdapter } from './dingtalk/dingtalk-adapter';
import { createWecomRobotAdapter } from './wecom-robot/robot-adapter';

export interface PlatformDeps {
  config: Config;
  log: Logger;
}

/**
 * Builds the adapters of the platforms whose credentials are configured. The console platform is
 * built by the composition root itself because it needs the database (its inbox is the outbox).
 */
export function createPlatformAdapters(deps: PlatformDeps): PlatformAdapter[] {
  const adapters: PlatformAdapter[] = [];
  if (deps.config.wecom) adapters.push(createWecomAdapter({ config: deps.config.wecom, log: deps.log }));
  if (deps.config.wecomRobot) adapters.push(createWecomRobotAdapter({ config: deps.config.wecomRobot, log: deps.log }));
  if (deps.config.dingtalk) adapters.push(createDingtalkAdapter({ config: deps.config.dingtalk, log: deps.log }));
  return adapters;
}
