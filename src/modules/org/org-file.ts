import { z } from 'zod';
import { ValidationError } from '../../core/errors';

/** What `xinsheng org import` loads, from JSON or CSV (README documents both). */
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
        roles: z.array(z.enum(['staff', 'liaison', 'office', 'deputy', 'secretary'])).optional(),
      }),
    )
    .default([]),
});

export type OrgFile = z.infer<typeof OrgFileSchema>;

export function parseOrgFile(fileName: string, text: string): OrgFile {
  const raw = fileName.toLowerCase().endsWith('.csv') ? csvToOrg(text) : parseJson(text);
  const result = OrgFileSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ValidationError(`${fileName}: ${describePath(raw, issue.path)}: ${issue.message}`);
  }
  checkReferences(fileName, result.data);
  return result.data;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ValidationError(`not valid JSON: ${(error as Error).message}`);
  }
}

/** Names the failing field; for CSV input, with the line it came from. */
function describePath(raw: unknown, path: PropertyKey[]): string {
  const [list, index] = path;
  const line = (raw as { lines?: Record<string, number[]> }).lines?.[String(list)]?.[Number(index)];
  const field = path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
  return line ? `line ${line} (${field})` : field;
}

function checkReferences(fileName: string, org: OrgFile): void {
  const departmentIds = new Set<string>();
  org.departments.forEach((d, i) => {
    if (departmentIds.has(d.id)) throw new ValidationError(`${fileName}: departments[${i}].id: duplicate id "${d.id}"`);
    departmentIds.add(d.id);
  });
  org.departments.forEach((d, i) => {
    if (d.parentId && !departmentIds.has(d.parentId)) {
      throw new ValidationError(`${fileName}: departments[${i}].parentId: unknown department "${d.parentId}"`);
    }
  });
  const personIds = new Set<string>();
  org.people.forEach((p, i) => {
    if (personIds.has(p.id)) throw new ValidationError(`${fileName}: people[${i}].id: duplicate id "${p.id}"`);
    personIds.add(p.id);
    p.departmentIds.forEach((id, j) => {
      if (!departmentIds.has(id)) throw new ValidationError(`${fileName}: people[${i}].departmentIds[${j}]: unknown department "${id}"`);
    });
    if (p.roles?.includes('liaison') && p.departmentIds.length === 0) {
      throw new ValidationError(`${fileName}: people[${i}].roles: a liaison needs a department`);
    }
  });
}

/**
 * CSV columns: `type,id,name,parentId,departmentIds,roles`; `type` is `department` or `person`;
 * several department ids or roles are separated by `;`. The first line is the header.
 */
function csvToOrg(text: string): unknown {
  const rows = parseCsv(text);
  const header = rows.shift()?.fields.map((h) => h.trim());
  const expected = ['type', 'id', 'name', 'parentId', 'departmentIds', 'roles'];
  if (!header || expected.some((name, i) => header[i] !== name)) {
    throw new ValidationError(`line 1: the header must be ${expected.join(',')}`);
  }
  const org = { departments: [] as unknown[], people: [] as unknown[], lines: { departments: [] as number[], people: [] as number[] } };
  const list = (value = '') => value.split(';').map((v) => v.trim()).filter(Boolean);
  for (const { line, fields } of rows) {
    const [type, id, name, parentId, departmentIds, roles] = fields.map((f) => f.trim());
    if (type === 'department') {
      org.departments.push({ id, name, parentId: parentId || null });
      org.lines.departments.push(line);
    } else if (type === 'person') {
      org.people.push({ id, name, departmentIds: list(departmentIds), ...(roles ? { roles: list(roles) } : {}) });
      org.lines.people.push(line);
    } else {
      throw new ValidationError(`line ${line} (type): expected department or person, got "${type ?? ''}"`);
    }
  }
  return org;
}

/** RFC 4180 CSV: quoted fields may hold commas, quotes ("") and newlines. Blank lines are skipped. */
function parseCsv(text: string): { line: number; fields: string[] }[] {
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
  if (quoted) throw new ValidationError(`line ${rowLine}: a quoted field is not closed`);
  endRow();
  return rows;
}
