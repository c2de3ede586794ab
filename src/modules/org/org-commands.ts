import { UserFacingError, type BotModule, type Command, type TurnContext } from '../../bot/turn-context';
import { PersonDepartmentEntity, type Department, type GrantableRole, type Person } from '../../db/entities/org.entity';
import { ROLE_LABELS, ROLE_WORDS } from '../../domain/glossary';
import { words } from '../../domain/text';
import {
  appointLiaison,
  departmentNames,
  grantRole,
  isMemberOf,
  lastOfficeProblem,
  liaisonDepartmentsOf,
  resolveDepartment,
  resolvePerson,
  revokeRole,
  secretaryNote,
  type Resolution,
} from './org-service';

function unwrap<T extends { id: string; name: string }>(resolution: Resolution<T>, noun: string): T {
  if ('found' in resolution) return resolution.found;
  if ('ambiguous' in resolution) {
    const candidates = resolution.ambiguous.map((c) => `${c.name}（${c.id}）`).join('、');
    throw new UserFacingError(`有多个${noun}叫这个名字：${candidates}。请改用编号。`);
  }
  throw new UserFacingError(`找不到${noun}「${resolution.missing}」。请用通讯录中的姓名或编号${noun === '部门' ? '' : '，或先「同步通讯录」'}。`);
}

const CONFIRM_WORDS = ['确认', '/confirm', 'confirm'];

const liaisonCommand: Command = {
  name: '联络员',
  aliases: ['/liaison', 'liaison'],
  roles: ['office'],
  summary: '指定部门联络员（替换原联络员）',
  example: '联络员 办公室 张三',
  async run(ctx, args) {
    const [departmentWord, personWord, confirmWord, extra] = words(args);
    const confirmed = confirmWord !== undefined && CONFIRM_WORDS.includes(confirmWord);
    if (!departmentWord || !personWord || (confirmWord && !confirmed) || extra) throw new UserFacingError('用法：联络员 部门 人员，例如：联络员 办公室 张三');
    const department: Department = unwrap(await resolveDepartment(ctx.em, departmentWord), '部门');
    const person: Person = unwrap(await resolvePerson(ctx.em, personWord), '人员');
    if (!person.active) throw new UserFacingError(`${person.name} 已不在通讯录中，不能担任联络员。`);
    const ofDepartment = await isMemberOf(ctx.em, person.id, department.id);
    const servesOther = await liaisonDepartmentsOf(ctx.em, person.id, department.id);
    if ((!ofDepartment || servesOther.length > 0) && !confirmed) throw new UserFacingError(await needsConfirmation(ctx, department, person, ofDepartment, servesOther));
    const { replaced, left } = await appointLiaison(ctx.em, department.id, person.id, ctx.actor.person.id, ctx.now);
    const leftNames = [...(await departmentNames(ctx.em, left)).values()].map((n) => `「${n}」`).join('、');
    await ctx.ledger({
      kind: 'role.liaison',
      subjectType: 'department',
      subjectId: department.id,
      data: { personId: person.id, replaced, ...(left.length ? { left } : {}), ...(ofDepartment ? {} : { otherDepartment: true }) },
    });
    await ctx.notify([person.id], {
      kind: 'text',
      text: `您已被指定为「${department.name}」的思想动态信息联络员，上报的信息归入「${department.name}」${left.length ? `（不再担任${leftNames}联络员）` : ''}。发送「帮助」查看上报方法。`,
    });
    await ctx.notify(replaced, { kind: 'text', text: `「${department.name}」的联络员已改由 ${person.name} 担任，感谢您的工作。` });
    const lines = [`已指定 ${person.name} 为「${department.name}」联络员${replaced.length ? '（原联络员已卸任）' : ''}。`];
    if (!ofDepartment) lines.push(`${person.name} 不是「${department.name}」的人员，已按您的确认指定；其上报的信息归入「${department.name}」。`);
    if (left.length) lines.push(`${person.name} 不再担任${leftNames}联络员，${leftNames}现在没有联络员，请另行指定。`);
    await ctx.replyText(lines.join('\n'));
  },
};

/**
 * Art. 6: a department's liaison is one of its own people, and serves that one department (his
 * reports are filed under it). Anything else is appointed only when the office confirms.
 */
async function needsConfirmation(ctx: TurnContext, department: Department, person: Person, ofDepartment: boolean, servesOther: string[]): Promise<string> {
  const reasons: string[] = [];
  if (!ofDepartment) {
    const memberships = await ctx.em.findBy(PersonDepartmentEntity, { personId: person.id });
    const own = [...(await departmentNames(ctx.em, memberships.map((m) => m.departmentId))).values()].map((n) => `「${n}」`).join('、') || '无';
    reasons.push(`${person.name} 不在「${department.name}」（所在部门：${own}）。按办法第六条，联络员由本部门的同志担任，请指定「${department.name}」的人员。`);
  }
  if (servesOther.length) {
    const others = [...(await departmentNames(ctx.em, servesOther)).values()].map((n) => `「${n}」`).join('、');
    reasons.push(`${person.name} 已是${others}的联络员；一人只担任一个部门的联络员（上报的信息归入所联系的部门），改任后${others}将没有联络员。`);
  }
  return `没有指定：${reasons.join('\n')}\n如确需这样指定，请发送：联络员 ${department.name} ${person.name} 确认`;
}

const UNIT_ROLES: GrantableRole[] = ['office', 'deputy', 'secretary'];

const roleCommand: Command = {
  name: '角色',
  aliases: ['/role', 'role'],
  roles: ['office', 'secretary'],
  summary: '授予或撤销（-角色）机关党委、分管领导、书记角色',
  example: '角色 李四 分管领导（撤销：角色 李四 -分管领导）',
  async run(ctx, args) {
    const [personWord, roleWord, extra] = words(args);
    if (!personWord || !roleWord || extra) throw new UserFacingError('用法：角色 人员 角色，撤销用 -角色。例如：角色 李四 分管领导');
    const revoking = roleWord.startsWith('-');
    const role = ROLE_WORDS[roleWord.replace(/^-/, '')] as GrantableRole | undefined;
    if (role === 'liaison') throw new UserFacingError('联络员按部门指定，请用：联络员 部门 人员');
    if (!role || !UNIT_ROLES.includes(role)) throw new UserFacingError(`不认识的角色「${roleWord}」。可用：机关党委、分管领导、书记。`);
    const person = unwrap(await resolvePerson(ctx.em, personWord), '人员');
    await ctx.replyText(await changeRole(ctx, person, role, revoking));
  },
};

async function changeRole(ctx: TurnContext, person: Person, role: GrantableRole, revoking: boolean): Promise<string> {
  const label = ROLE_LABELS[role];
  if (revoking && role === 'office') {
    const problem = await lastOfficeProblem(ctx.em, person.id);
    if (problem) return `没有撤销 ${person.name} 的「${label}」角色：${problem}`;
  }
  const changed = revoking ? await revokeRole(ctx.em, person.id, role) : await grantRole(ctx.em, { personId: person.id, role, grantedBy: ctx.actor.person.id }, ctx.now);
  if (!changed) return revoking ? `${person.name} 本来就没有「${label}」角色。` : `${person.name} 已经是「${label}」。`;
  await ctx.ledger({ kind: revoking ? 'role.revoked' : 'role.granted', subjectType: 'person', subjectId: person.id, data: { role } });
  await ctx.notify([person.id], { kind: 'text', text: revoking ? `您的「${label}」角色已被撤销。` : `您已被授予「${label}」角色。发送「帮助」查看可用命令。` });
  if (revoking) return `已撤销 ${person.name} 的「${label}」角色。`;
  const note = role === 'secretary' ? await secretaryNote(ctx.em) : null;
  return `已授予 ${person.name}「${label}」角色。${note ? `\n${note}` : ''}`;
}

const syncCommand: Command = {
  name: '同步通讯录',
  aliases: ['/sync', 'sync'],
  roles: ['office'],
  summary: '从企业微信/钉钉通讯录同步部门和人员',
  example: '同步通讯录',
  async run(ctx) {
    if (ctx.services.directories().length === 0) {
      throw new UserFacingError('当前没有连接企业微信或钉钉，无法同步通讯录。请用命令行 xinsheng org import 导入组织架构。');
    }
    const requester = ctx.actor.person.id;
    // The directory is read after this turn commits: paged API calls must not hold a transaction open.
    ctx.defer(async () => {
      const text = await ctx.services.syncDirectories().then(
        (lines) => `通讯录已同步。\n${lines.join('\n')}`,
        (error: Error) => `通讯录同步失败：${error.message}。请检查平台配置（/readyz）后重试。`,
      );
      await ctx.services.notifyLater([requester], { kind: 'text', text });
    });
    await ctx.replyText('正在同步通讯录，完成后会告诉您结果。');
  },
};

export const orgModule: BotModule = { commands: [liaisonCommand, roleCommand, syncCommand] };
