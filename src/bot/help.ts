import type { Actor } from '../core/actor';
import { ROLE_LABELS } from '../domain/glossary';
import type { Command, MineSection } from './turn-context';

/** The commands this person may use, each with one example (PRODUCT.md §3 `帮助`). */
export function helpText(commands: Command[], actor: Actor, short = false): string {
  const allowed = commands.filter((c) => c.roles.some((r) => actor.roles.has(r)));
  if (short) return `您可以使用：${allowed.map((c) => c.name).join('、')}。发送「帮助」查看用法。`;
  const roles = [...actor.roles].map((r) => ROLE_LABELS[r]).join('、');
  const lines = allowed.map((c) => `• ${c.name}（${c.aliases[0] ?? ''}）— ${c.summary}\n  例：${c.example}`);
  return `「心声」思想动态工作助手\n您的身份：${roles}\n\n${lines.join('\n')}\n\n命令后可以直接写内容，也可以先空一格（全角空格也可以）。`;
}

export function groupHelpText(): string {
  return '「心声」思想动态工作助手。为保护个人信息，群聊中只提供帮助；上报、意见、查询等请私聊我，私聊发送「帮助」可查看您能使用的命令。';
}

export function helpCommand(all: () => Command[]): Command {
  return {
    name: '帮助',
    aliases: ['/help', 'help', '?', '？'],
    roles: ['staff'],
    noArguments: true,
    summary: '查看您可以使用的命令',
    example: '帮助',
    async run(ctx) {
      await ctx.replyText(helpText(all(), ctx.actor));
    },
  };
}

export function mineCommand(sections: MineSection[]): Command {
  return {
    name: '我的',
    aliases: ['/mine', 'mine'],
    roles: ['staff'],
    noArguments: true,
    summary: '查看本人近期提交的信息和待办事项',
    example: '我的',
    async run(ctx) {
      const parts: string[] = [];
      for (const section of sections) {
        const text = await section(ctx);
        if (text) parts.push(text);
      }
      await ctx.replyText(parts.length ? parts.join('\n\n') : '您还没有提交过信息，也没有待办事项。');
    },
  };
}
