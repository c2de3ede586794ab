import fs from 'node:fs';
import path from 'node:path';
import type { XinshengApp } from '../app';
import { parseOrgFile } from '../modules/org/org-file';
import { describeImport, importOrg } from '../modules/org/org-import';
import { appendLedger } from '../core/ledger';
import { decodeText } from '../lib/decode-text';
import { grantRole, lastOfficeProblem, resolvePerson, revokeRole, secretaryNote } from '../modules/org/org-service';
import { ROLE_LABELS, ROLE_WORDS } from '../domain/glossary';
import type { GrantableRole } from '../db/entities/org.entity';
import { ValidationError } from '../core/errors';

/** `xinsheng org import FILE`: decodes and checks the whole file first, then imports it in one transaction. */
export async function importOrgFile(app: XinshengApp, file: string): Promise<string> {
  const fileName = path.basename(file);
  if (!fs.existsSync(file)) throw new ValidationError(`找不到文件 ${file}`);
  const decoded = decodeText(fs.readFileSync(file));
  if (!decoded.ok) {
    throw new ValidationError(
      `${fileName}：无法识别文件的编码（不是 UTF-8，也不能确定是 GBK/GB18030），什么也没有导入。请在 Excel 中“另存为”，文件类型选“CSV UTF-8（逗号分隔）”，再导入。`,
    );
  }
  const parsed = parseOrgFile(fileName, decoded.text);
  const report = await app.transact((em) => importOrg(em, parsed, Date.now()));
  return describeImport(fileName, report) + (decoded.encoding === 'GB18030' ? '\n（文件按 GBK/GB18030 编码读取。）' : '');
}

/** `xinsheng role USER ROLE` (or `-ROLE`): lets the first office member be made without chat. */
export async function changeRoleFromCli(app: XinshengApp, userWord: string, roleWord: string): Promise<string> {
  const revoking = roleWord.startsWith('-');
  const role = ROLE_WORDS[roleWord.replace(/^-/, '')] as GrantableRole | undefined;
  if (role === 'liaison') {
    throw new ValidationError('联络员按部门指定，每个部门一名：请在聊天中发送「联络员 部门 人员」，或在组织架构文件中给出（xinsheng org import）。');
  }
  if (!role) throw new ValidationError(`不认识的角色「${roleWord}」：可用 office、deputy、secretary（机关党委、分管领导、书记），撤销时前加 -`);
  const label = ROLE_LABELS[role];
  return app.transact(async (em) => {
    const resolution = await resolvePerson(em, userWord);
    if ('missing' in resolution) throw new ValidationError(`找不到人员「${userWord}」：请先导入组织架构（xinsheng org import FILE）`);
    if ('ambiguous' in resolution) {
      throw new ValidationError(`「${userWord}」对应多人：${resolution.ambiguous.map((p) => `${p.name}（${p.id}）`).join('、')}；请改用编号`);
    }
    const person = resolution.found;
    if (revoking && role === 'office') {
      const problem = await lastOfficeProblem(em, person.id);
      if (problem) throw new ValidationError(`没有撤销 ${person.name} 的「${label}」角色：${problem}`);
    }
    const changed = revoking ? await revokeRole(em, person.id, role) : await grantRole(em, { personId: person.id, role, grantedBy: null }, Date.now());
    if (!changed) return revoking ? `${person.name}（${person.id}）本来就没有「${label}」角色，没有变化。` : `${person.name}（${person.id}）已经是「${label}」，没有变化。`;
    await appendLedger(em, { kind: revoking ? 'role.revoked' : 'role.granted', actorId: null, subjectType: 'person', subjectId: person.id, data: { role, via: 'cli' } }, Date.now());
    const done = revoking ? `已撤销 ${person.name}（${person.id}）的「${label}」角色。` : `已授予 ${person.name}（${person.id}）「${label}」角色。`;
    const note = !revoking && role === 'secretary' ? await secretaryNote(em) : null;
    return note ? `${done}\n${note}` : done;
  });
}
