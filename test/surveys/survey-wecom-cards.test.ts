import fs from 'node:fs';
import path from 'node:path';
import nock from 'nock';
import type { Card, Recipient } from '../../src/core/messages';
import type { BotServices } from '../../src/bot/turn-context';
import type { Survey } from '../../src/db/entities/survey.entity';
import { createWecomAdapter } from '../../src/platforms/wecom/wecom-adapter';
import { createWecomClient } from '../../src/platforms/wecom/wecom-client';
import { renderActionCardMessage, renderCardParamMap } from '../../src/platforms/dingtalk/dingtalk-cards';
import { buildPageCard, loaded } from '../../src/modules/surveys/survey-service';
import { VECTOR_B, silentLog, wecomConfig } from '../wecom/wecom-fixtures';

const BASE = 'https://qyapi.test';
const TEMPLATES = path.join(__dirname, '../../bot-cards/surveys');

/** Every page card of every shipped template, as the bot builds them. */
function allPageCards(): Card[] {
  return fs.readdirSync(TEMPLATES).flatMap((file) => {
    const template = JSON.parse(fs.readFileSync(path.join(TEMPLATES, file), 'utf8'));
    const survey = { id: 's', number: 'Q-2026-0001', title: template.title, anonymous: true, deadlineAt: Date.UTC(2026, 11, 20, 9), definition: JSON.stringify(template), pageCards: '[]' } as Survey;
    const l = loaded(survey);
    return l.pages.map((page, i) => ({ ...buildPageCard(l, page, { timeZone: 'Asia/Shanghai' } as BotServices), cardId: `0b7e6c1a-2f7d-4c1e-9a55-3c1d2e4f5a6${i}`, state: null }));
  });
}

function adapter() {
  const config = wecomConfig(VECTOR_B, BASE);
  const client = createWecomClient({ apiBase: BASE, corpId: config.corpId, secret: config.secret, log: silentLog, sleep: async () => {} });
  return createWecomAdapter({ config, log: silentLog, client });
}

type Body = { touser: string; msgtype: string; template_card: Record<string, any> };

describe('questionnaire pages on WeCom (every limit asserted on the JSON sent)', () => {
  afterEach(() => nock.cleanAll());

  it('sends one shared page card to 2,500 people in 3 calls, each with its own task id, within every card limit', async () => {
    const cards = allPageCards();
    expect(cards.length).toBeGreaterThanOrEqual(5);
    const bodies: Body[] = [];
    nock(BASE).get('/cgi-bin/gettoken').query(true).reply(200, { errcode: 0, access_token: 'T', expires_in: 7200 });
    nock(BASE)
      .post('/cgi-bin/message/send', (b: Body) => {
        bodies.push(b);
        return true;
      })
      .query(true)
      .times(3 * cards.length)
      .reply(200, { errcode: 0, errmsg: 'ok', response_code: 'RC' });
    const people: Recipient[] = Array.from({ length: 2500 }, (_, i) => ({ kind: 'user', userId: `u${i}` }));
    const wecom = adapter();
    for (const card of cards) {
      const outcome = await wecom.deliver({ recipients: people, content: { kind: 'card', card } });
      // No per-person ref (each person's own click brings one): one batch ref per call, for its copies.
      expect(outcome.cardRefs).toEqual({});
      expect(outcome.cardBatches!.map((b) => b.recipients.length)).toEqual([1000, 1000, 500]);
      expect(outcome.cardBatches!.flatMap((b) => b.recipients)).toEqual(people);
    }
    expect(bodies).toHaveLength(3 * cards.length);
    expect(bodies.slice(0, 3).map((b) => b.touser.split('|').length)).toEqual([1000, 1000, 500]);
    const taskIds = bodies.map((b) => b.template_card.task_id as string);
    expect(new Set(taskIds).size).toBe(taskIds.length);
    for (const body of bodies) {
      const tc = body.template_card;
      expect(body.msgtype).toBe('template_card');
      expect(Buffer.byteLength(tc.task_id)).toBeLessThanOrEqual(128);
      expect(tc.task_id).toMatch(/^[0-9A-Za-z_\-@]+$/);
      expect([...tc.main_title.title].length).toBeLessThanOrEqual(36);
      if (tc.main_title.desc) expect([...tc.main_title.desc].length).toBeLessThanOrEqual(44);
      if (tc.card_type === 'multiple_interaction') {
        expect(tc.select_list.length).toBeGreaterThanOrEqual(1);
        expect(tc.select_list.length).toBeLessThanOrEqual(3);
        for (const select of tc.select_list) {
          expect(select.option_list.length).toBeLessThanOrEqual(10);
          for (const option of select.option_list) expect([...option.text].length).toBeLessThanOrEqual(16);
        }
      } else {
        expect(tc.card_type).toBe('vote_interaction');
        expect(tc.checkbox.mode).toBe(1);
        expect(tc.checkbox.option_list.length).toBeLessThanOrEqual(20);
        for (const option of tc.checkbox.option_list) expect([...option.text].length).toBeLessThanOrEqual(17);
      }
      expect([...tc.submit_button.text].length).toBeLessThanOrEqual(10);
    }
    // No option was cut: every label fits as written.
    const sent = bodies.flatMap((b) => (b.template_card.select_list ?? [b.template_card.checkbox]).flatMap((s: any) => s.option_list.map((o: any) => o.text)));
    expect(sent.filter((text: string) => text.endsWith('…'))).toEqual([]);
  });

  it('keeps a send’s response code as the ref of its delivered copies only, and updates them in one call', async () => {
    const [card] = allPageCards();
    const updates: any[] = [];
    nock(BASE).get('/cgi-bin/gettoken').query(true).reply(200, { errcode: 0, access_token: 'T', expires_in: 7200 });
    nock(BASE).post('/cgi-bin/message/send').query(true).reply(200, { errcode: 0, errmsg: 'ok', invaliduser: 'U1', response_code: 'SEND-RC' });
    nock(BASE)
      .post('/cgi-bin/message/update_template_card', (b) => (updates.push(b), true))
      .query(true)
      .reply(200, { errcode: 0, errmsg: 'ok', invaliduser: [] });
    const wecom = adapter();
    const people: Recipient[] = ['u0', 'u1', 'u2', 'u3'].map((userId) => ({ kind: 'user', userId }));
    const outcome = await wecom.deliver({ recipients: people, content: { kind: 'card', card } });
    expect(outcome.invalid).toEqual([people[1]]);
    const [batch] = outcome.cardBatches!;
    expect(batch.recipients).toEqual([people[0], people[2], people[3]]);
    const result = await wecom.updateCardBatch({ ref: batch.ref, sentAt: Date.now() }, [people[0], people[3]], { ...card, state: '已截止' });
    expect(result).toBe('updated');
    expect(updates).toHaveLength(1);
    expect(updates[0].userids).toEqual(['u0', 'u3']);
    expect(updates[0].response_code).toBe('SEND-RC');
    expect(updates[0].agentid).toBe(Number(wecomConfig(VECTOR_B, BASE).agentId));
    expect(updates[0].template_card.task_id).toBe(batch.ref.split('|')[0]);
    expect(updates[0].replace_text).toBe('已截止');
    expect(updates[0].template_card.select_list.every((s: any) => s.disable)).toBe(true);
  });

  it('updates one person’s copy with the response code of that person’s own click', async () => {
    const [card] = allPageCards();
    let update: any;
    nock(BASE).get('/cgi-bin/gettoken').query(true).reply(200, { errcode: 0, access_token: 'T', expires_in: 7200 });
    nock(BASE)
      .post('/cgi-bin/message/update_template_card', (b) => ((update = b), true))
      .query(true)
      .reply(200, { errcode: 0, errmsg: 'ok' });
    await adapter().updateCard({ kind: 'user', userId: 'u7' }, `${card.cardId}@abc|CLICK-RC`, { ...card, state: '已提交' });
    expect(update.userids).toEqual(['u7']);
    expect(update.response_code).toBe('CLICK-RC');
    expect(update.replace_text).toBe('已提交');
    expect(update.template_card.select_list.every((s: any) => s.disable)).toBe(true);
  });
});

describe('questionnaire pages on DingTalk', () => {
  it('fills the template variables (inputs as JSON) when a card template is configured', () => {
    for (const card of allPageCards()) {
      const params = renderCardParamMap(card);
      const inputs = JSON.parse(params.inputs);
      expect(inputs.map((i: any) => i.key)).toEqual(card.inputs.map((i) => i.key));
      expect(inputs.every((i: any) => i.options.length === card.inputs.find((c) => c.key === i.key)!.options.length)).toBe(true);
      expect(params.action1).toBe('submit');
    }
  });

  it('falls back to an action card whose option links each submit that choice', () => {
    const card = allPageCards()[0];
    const message = renderActionCardMessage(card);
    const text = message.msgParam.text;
    for (const input of card.inputs) for (const option of input.options) expect(text).toContain(option.label);
    const links = [...text.matchAll(/dtmd:\/\/dingtalkclient\/sendMessage\?content=([^)]+)\)/g)].map((m) => decodeURIComponent(m[1]));
    expect(links.length).toBe(card.inputs.reduce((n, i) => n + i.options.length, 0));
    expect(links.every((l) => l.includes(`/card ${card.cardId} submit`))).toBe(true);
  });
});
