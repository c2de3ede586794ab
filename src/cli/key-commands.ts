import type { XinshengApp } from '../app';
import { dataKeyStatus, describeKeyStatus } from '../core/data-keys';
import { rotateDataKeys, type RotationOptions } from '../core/key-rotation';
import { LEGACY_KEY_ID } from '../lib/data-cipher';

/** `xinsheng key status`: how many stored values each key still protects. */
export async function keyStatusFromCli(app: XinshengApp): Promise<string> {
  await app.migrate();
  await app.checkDataKeys();
  return describeKeyStatus(await dataKeyStatus(app.dataSource, app.cipher, app.bot.keyRotationSteps()));
}

/** `xinsheng key rotate [--batch N]`: re-encrypts every stored value under DATA_KEY's first key, and re-keys the modules' keyed hashes. */
export async function rotateKeysFromCli(app: XinshengApp, args: string[], hooks: Pick<RotationOptions, 'onBatch' | 'onProgress'> = {}): Promise<string> {
  const batchRows = parseBatch(args);
  await app.migrate();
  await app.checkDataKeys();
  const result = await rotateDataKeys({ dataSource: app.dataSource, transact: app.transact, cipher: app.cipher, now: Date.now, batchRows, steps: app.bot.keyRotationSteps(), ...hooks });
  const others = Object.entries(result.remaining).filter(([id, n]) => id !== result.keyId && n > 0);
  const rekeyed = result.rekeyed ? `，${result.rekeyed} 个研判关键词散列改用它重新计算` : '';
  const lines = [`${result.resumed ? '继续上次中断的轮换，' : ''}已把 ${result.rotated} 个密文改用密钥 ${result.keyId} 加密${rekeyed}（已记入工作台账）。`];
  if (others.length) {
    lines.push(`仍有 ${others.map(([id, n]) => `${id === LEGACY_KEY_ID ? '旧格式 v1' : `密钥 ${id}`} ${n} 个`).join('，')}：多半是仍以旧密钥为第一个密钥运行的实例写入的。请让所有实例都用新 DATA_KEY 重启后再运行一次。`);
  }
  if (result.retired.length) lines.push(`密钥 ${result.retired.join('、')} 已不再保护任何数据，可以从 DATA_KEY 中移除。`);
  return lines.join('\n');
}

function parseBatch(args: string[]): number | undefined {
  const at = args.indexOf('--batch');
  if (at < 0) return undefined;
  const value = Number(args[at + 1]);
  if (!Number.isInteger(value) || value < 1 || value > 10_000) throw new Error('key rotate：--batch 需要 1 到 10000 之间的整数');
  return value;
}
