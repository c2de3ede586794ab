import { z } from 'zod';
import { ValidationError } from '../../core/errors';

/*
 * What `xinsheng org import` loads, from JSON or CSV (README documents both). Office staff read
 * every message here: they are Chinese and name the line and the field (`第 3 行，parentId：…`).
 * This file checks what the file alone can tell; org-import.ts checks it against the database.
 */

const ROLE_VALUES = ['staff', 'liaison', 'office', 'deputy', 'secretary'] as const;

export const OrgFileSchema = z.object({
  departments: z
    .array(
      z.object({
        id: z.string().trim().min(1).max(64),
        name: z.string().trim().min(1).max(128),
        parentId: z.string().trim().min(1).max(64).nullish(),
      }),
    )
    .default([]),
  people: z
    .array(
      z.object({
        id: z.string().trim().min(1).max(64),
        name: z.string().trim().min(1).max(64),
        departmentIds: z.array(z.string().trim().min(1).max(64)).default([]),
        roles: z.array(z.enum(ROLE_VALUES)).optional(),
      }),
    )
    .default([]),
});

export type OrgFile = z.infer<typeof OrgFileSchema>;

/** A parsed file with where each entry came from (`第 3 行`), for messages that name the line. */
export interface ParsedOrgFile {
  fileName: string;
  org: OrgFile;
  where: { departments: string[]; people: string[] };
}

type ListName = keyof ParsedOrgFile['where'];

/** The refusal of one entry: `org.csv 第 3 行，parentId：找不到部门 d9`. */
export function entryError(file: ParsedOrgFile, list: ListName, index: number, field: string, problem: string): ValidationError {
  return new ValidationError(`${file.fileName} ${entryAt(file, list, index)}，${field}：${problem}`);
}

/** `第 3 行`, or the entry's place in its list when the line is not known. */
function entryAt(file: ParsedOrgFile, list: ListName, index: number): string {
  return file.where[list][index] ?? `${list}[${index}]`;
}

export function parseOrgFile(fileName: string, text: string): ParsedOrgFile {
  const isCsv = fileName.toLowerCase().endsWith('.csv');
  const { raw, where } = isCsv ? csvToOrg(fileName, text) : jsonToOrg(fileName, text);
  const result = OrgFileSchema.safeParse(raw);
  if (!result.success) throw schemaError(fileName, raw, where, result.error.issues[0]);
  const parsed = { fileName, org: result.data, where };
  checkWithinFile(parsed);
  return parsed;
}

function schemaError(fileName: string, raw: unknown, where: Partial<Record<string, string[]>>, issue: z.core.$ZodIssue): ValidationError {
  const [list, index, field] = issue.path;
  const value = issue.path.reduce<unknown>((node, key) => (node as Record<PropertyKey, unknown> | undefined)?.[key as PropertyKey], raw);
  const problem = describeIssue(issue, value);
  const at = typeof index === 'number' ? where[String(list)]?.[index] : undefined;
  if (at && field !== undefined) return new ValidationError(`${fileName} ${at}，${String(field)}：${problem}`);
  if (at) return new ValidationError(`${fileName} ${at}：${problem}`);
  return new ValidationError(`${fileName}：${list === undefined ? '' : `${String(list)}：`}${problem}`);
}

const TYPE_WORDS: Record<string, string> = { string: '文字', array: '列表（[…]）', object: '对象（{…}）' };

function describeIssue(issue: z.core.$ZodIssue, value: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      return value === undefined || value === null ? '不能为空' : `应为${TYPE_WORDS[issue.expected] ?? issue.expected}`;
    case 'too_small':
      return '不能为空';
    case 'too_big':
      return `太长（最多 ${String(issue.maximum)} 个字符）`;
    case 'invalid_value':
      return `不认识「${String(value)}」，可用：${issue.values.map(String).join('、')}`;
    default:
      return issue.message;
  }
}

/** Duplicate ids and a second liaison for one department (Art. 6) are refused before anything is written. */
function checkWithinFile(file: ParsedOrgFile): void {
  const { departments, people } = file.org;
  const departmentAt = new Map<string, number>();
  departments.forEach((d, i) => {
    const first = departmentAt.get(d.id);
    if (first !== undefined) throw entryError(file, 'departments', i, 'id', `部门编号 ${d.id} 重复（${entryAt(file, 'departments', first)}已有）`);
    departmentAt.set(d.id, i);
  });
  const personAt = new Map<string, number>();
  const liaisonAt = new Map<string, number>();
  people.forEach((p, i) => {
    const first = personAt.get(p.id);
    if (first !== undefined) throw entryError(file, 'people', i, 'id', `人员编号 ${p.id} 重复（${entryAt(file, 'people', first)}已有）`);
    personAt.set(p.id, i);
    if (!p.roles?.includes('liaison')) return;
    const department = p.departmentIds[0];
    if (!department) throw entryError(file, 'people', i, 'roles', '联络员须写明所属部门（departmentIds，联络员是其中第一个部门的）');
    const other = liaisonAt.get(department);
    if (other !== undefined) {
      throw entryError(
        file,
        'people',
        i,
        'roles',
        `部门 ${department} 已有联络员 ${people[other].name}（${entryAt(file, 'people', other)}）；每个部门只设一名联络员（办法第六条），请只保留一行 liaison`,
      );
    }
    liaisonAt.set(department, i);
  });
}

function jsonToOrg(fileName: string, text: string): { raw: unknown; where: ParsedOrgFile['where'] } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ValidationError(`${fileName}：不是有效的 JSON（${(error as Error).message}）`);
  }
  const lines = jsonElementLines(text);
  const label = (list: ListName) => (line: number, i: number) => `第 ${line} 行（${list}[${i}]）`;
  return { raw, where: { departments: lines.departments.map(label('departments')), people: lines.people.map(label('people')) } };
}

/**
 * The line on which each element of the top-level `departments` and `people` arrays starts, read
 * by a small scanner over already valid JSON (JSON.parse keeps no positions).
 */
function jsonElementLines(text: string): Record<ListName, number[]> {
  const lines: Record<ListName, number[]> = { departments: [], people: [] };
  const stack: string[] = [];
  let line = 1;
  let lastString = '';
  let list: ListName | null = null;
  let expectElement = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\n') line++;
    if (/\s/.test(ch)) continue;
    const inList = list !== null && stack.length === 2;
    if (inList && expectElement && ch !== ']') {
      lines[list!].push(line);
      expectElement = false;
    }
    if (ch === '"') {
      let end = i + 1;
      let value = '';
      while (end < text.length && text[end] !== '"') {
        if (text[end] === '\\') end++;
        else value += text[end];
        end++;
      }
      lastString = value;
      i = end;
    } else if (ch === '{' || ch === '[') {
      if (ch === '[' && stack.length === 1 && stack[0] === '{' && (lastString === 'departments' || lastString === 'people')) {
        list = lastString;
        expectElement = true;
      }
      stack.push(ch);
    } else if (ch === '}' || ch === ']') {
      stack.pop();
      if (stack.length < 2) list = null;
    } else if (ch === ',' && inList) expectElement = true;
  }
  return lines;
}

/**
 * CSV columns: `type,id,name,parentId,departmentIds,roles`; `type` is `department` or `person`;
 * several department ids or roles are separated by `;`. The first line is the header.
 */
function csvToOrg(fileName: string, text: string): { raw: unknown; where: ParsedOrgFile['where'] } {
  const rows = parseCsv(fileName, text);
  const header = rows.shift()?.fields.map((h) => h.trim());
  const expected = ['type', 'id', 'name', 'parentId', 'departmentIds', 'roles'];
  if (!header || expected.some((name, i) => header[i] !== name)) {
    throw new ValidationError(`${fileName} 第 1 行：表头应为 ${expected.join(',')}`);
  }
  const departments: unknown[] = [];
  const people: unknown[] = [];
  const where: ParsedOrgFile['where'] = { departments: [], people: [] };
  const list = (value = '') => value.split(';').map((v) => v.trim()).filter(Boolean);
  for (const { line, fields } of rows) {
    const [type, id, name, parentId, departmentIds, roles] = fields.map((f) => f.trim());
    if (type === 'department') {
      departments.push({ id, name, parentId: parentId || null });
      where.departments.push(`第 ${line} 行`);
    } else if (type === 'person') {
      people.push({ id, name, departmentIds: list(departmentIds), ...(roles ? { roles: list(roles) } : {}) });
      where.people.push(`第 ${line} 行`);
    } else {
      throw new ValidationError(`${fileName} 第 ${line} 行，type：应为 department 或 person，实际为「${type ?? ''}」`);
    }
  }
  return { raw: { departments, people }, where };
}

/** RFC 4180 CSV: quoted fields may hold commas, quotes ("") and newlines. Blank lines are skipped. */
function parseCsv(fileName: string, text: string): { line: number; fields: string[] }[] {
  const rows: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  const endRow = () => {
    fields.push(field);
    if (fields.some((f) => f.trim() !== '')) rows.push({ line: rowLine, fields });
    fields = [];
    field = '';
  };
  const input = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    if (quoted) {
      if (ch === '"' && input[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else {
        if (ch === '\n') line++;
        field += ch;
      }
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && input[i + 1] === '\n') i++;
      endRow();
      line++;
      rowLine = line;
    } else field += ch;
  }
  if (quoted) throw new ValidationError(`${fileName} 第 ${rowLine} 行：引号没有闭合`);
  endRow();
  return rows;
}
