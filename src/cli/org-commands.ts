import fs from 'node:fs';
import path from 'node:path';
import type { XinshengApp } from '../app';
import { parseOrgFile } from '../modules/org/org-file';
import { applyOrgSnapshot } from '../modules/org/org-sync';
import { appendLedger } from '../core/ledger';
import { grantRole, resolvePerson, revokeRole } from '../modules/org/org-service';
import { ROLE_WORDS } from '../domain/glossary';
import type { GrantableRole } from '../db/entities/org.entity';
import { ValidationError } from '../core/errors';

/** `xinsheng org import FILE`: validates the whole file first, then imports it in one transaction. */
export async function importOrgFile(app: XinshengApp, file: string): Promise<string> {
  if (!fs.existsSync(file)) throw new ValidationError(`${file}: no such file`);
  const org = parseOrgFile(path.basename(file), fs.readFileSync(file, 'utf8'));
  const summary = await app.transact(async (em) => {
    const s = await applyOrgSnapshot(em, org, { platform: null, now: Date.now() });
    await appendLedger(em, { kind: 'org.imported', subjectType: 'file', subjectId: path.basename(file).slice(0, 64), data: { ...s } }, Date.now());
    return s;
  });
  return `Imported ${summary.departments} departments and ${summary.people} people (${summary.created} new).`;
}

/** `xinsheng role USER ROLE` (or `-ROLE`): lets the first office member be made without chat. */
export async function changeRoleFromCli(app: XinshengApp, userWord: string, roleWord: string): Promise<string> {
  const revoking = roleWord.startsWith('-');
  const role = ROLE_WORDS[roleWord.replace(/^-/, '')] as GrantableRole | undefined;
  if (!role || role === 'liaison') {
    throw new ValidationError(`unknown role "${roleWord}": use office, deputy or secretary (机关党委, 分管领导, 书记); appoint liaisons in chat with 联络员`);
  }
  return app.transact(async (em) => {
    const resolution = await resolvePerson(em, userWord);
    if ('missing' in resolution) throw new ValidationError(`no person "${userWord}": import the organisation first (xinsheng org import FILE)`);
    if ('ambiguous' in resolution) {
      throw new ValidationError(`"${userWord}" names several people: ${resolution.ambiguous.map((p) => p.id).join(', ')}; use the id`);
    }
    const person = resolution.found;
    const changed = revoking ? await revokeRole(em, person.id, role) : await grantRole(em, { personId: person.id, role, grantedBy: null }, Date.now());
    if (changed) {
      await appendLedger(em, { kind: revoking ? 'role.revoked' : 'role.granted', actorId: null, subjectType: 'person', subjectId: person.id, data: { role, via: 'cli' } }, Date.now());
    }
    const verb = revoking ? 'revoked from' : 'granted to';
    return changed ? `Role ${role} ${verb} ${person.name} (${person.id}).` : `Nothing to change: ${person.name} ${revoking ? 'does not have' : 'already has'} role ${role}.`;
  });
}
