import { ConfigError } from '../core/errors';
import type { DatabaseConfig } from './load-config';

/*
 * Start-up failures said in the words of README's configuration table, naming the variable to fix
 * (`HOST：找不到地址…` rather than `getaddrinfo ENOTFOUND`). Never repeats a password.
 */

type SystemError = Error & { code?: string; syscall?: string; hostname?: string };

/** The database of DATABASE_URL could not be opened. */
export function databaseStartupError(error: unknown, database: DatabaseConfig): ConfigError {
  const e = error as SystemError;
  const where = database.type === 'mysql' ? `MySQL ${safeMysqlAddress(database.url)}` : `SQLite 文件 ${database.path}`;
  const reasons: Record<string, string> = {
    ENOTFOUND: `找不到主机 ${e.hostname ?? ''}`.trim(),
    EAI_AGAIN: `暂时无法解析主机 ${e.hostname ?? ''}`.trim(),
    ECONNREFUSED: '连接被拒绝（数据库是否已启动，端口是否正确？）',
    ETIMEDOUT: '连接超时（地址或防火墙？）',
    ER_ACCESS_DENIED_ERROR: '用户名或密码不对',
    ER_BAD_DB_ERROR: '数据库不存在，请先创建（CREATE DATABASE … CHARACTER SET utf8mb4）',
    ER_DBACCESS_DENIED_ERROR: '该用户无权使用这个数据库',
    SQLITE_CANTOPEN: '无法打开文件（目录是否存在、是否可写？）',
    EACCES: '没有权限（目录是否可写？）',
    ENOTDIR: '路径不对（其中有一段不是目录）',
    EEXIST: '路径不对（其中有一段不是目录）',
    ENOENT: '目录不存在，也无法创建',
  };
  const reason = (e.code && reasons[e.code]) ?? `${e.code ?? ''} ${e.message ?? ''}`.trim();
  return new ConfigError(`DATABASE_URL：无法连接数据库 ${where}：${reason}`);
}

/** The HTTP server could not listen on HOST:PORT. */
export function listenStartupError(error: unknown, http: { host: string; port: number }): Error {
  const e = error as SystemError;
  switch (e.code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ConfigError(`HOST：找不到地址「${http.host}」，应为本机的 IP 地址或主机名，如 0.0.0.0（所有地址）或 127.0.0.1`);
    case 'EADDRNOTAVAIL':
      return new ConfigError(`HOST：「${http.host}」不是本机的地址，应为本机的 IP 地址，如 0.0.0.0（所有地址）或 127.0.0.1`);
    case 'EADDRINUSE':
      return new ConfigError(`PORT：端口 ${http.port} 已被占用（另一个 xinsheng 是否已在运行？），请换一个端口`);
    case 'EACCES':
      return new ConfigError(`PORT：无权使用端口 ${http.port}（1024 以下的端口需要管理员权限），请换一个端口，如 3000`);
    default:
      return e;
  }
}

/** user@host:port/db of a MySQL URL, without its password. */
function safeMysqlAddress(url: string): string {
  try {
    const u = new URL(url);
    return `${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.host}${u.pathname}`;
  } catch {
    return '(地址无法解析)';
  }
}
