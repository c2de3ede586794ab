import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app';
import { consoleClient, texts } from '../helpers/console-client';
import { fakePlatform, type FakePlatform } from '../helpers/fake-platform';
import { enqueueOutbound } from '../../src/core/outbox';
import { StoredFileChunkEntity, StoredFileEntity } from '../../src/db/entities/kernel.entity';
import { readStoredFile, storeFile } from '../../src/core/file-store';
import { storedFileIdFor } from '../../src/core/inbound-files';
import type { BotEvent } from '../../src/core/events';
import { waitFor } from '../escalation/support';

describe.each(testDatabases())('files (%s)', (database) => {
  let t: TestApp;
  let fake: FakePlatform;
  beforeEach(async () => {
    fake = fakePlatform({ files: { 'media-1': Buffer.from('PK report bytes') } });
    t = await startTestApp({ database, appOptions: { adapters: [fake.adapter] } });
  });
  afterEach(() => t.stop());

  const fileEvent = (id: string, ref: string, name = '部门报告.docx'): BotEvent => ({
    id,
    platform: 'wecom',
    senderId: 'zhangsan',
    conversation: { kind: 'direct', id: 'zhangsan' },
    receivedAt: Date.now(),
    type: 'file',
    file: { name, ref },
  });

  it('stores a file encrypted in chunks and reads back the same bytes, whatever its size', async () => {
    const data = Buffer.alloc(2 * 1024 * 1024 + 17, 7);
    data.write('绝密内容', 100);
    const info = await t.app.transact((em) => storeFile(em, t.app.cipher, { purpose: 'test', name: '名单.xlsx', mimeType: 'application/x', data }, Date.now()));
    expect((await t.app.dataSource.getRepository(StoredFileChunkEntity).countBy({ fileId: info.id })) > 1).toBe(true);
    const back = await t.app.transact((em) => readStoredFile(em, t.app.cipher, info.id));
    expect(back!.data.equals(data)).toBe(true);
    expect(back!.name).toBe('名单.xlsx');
    const raw = JSON.stringify(await t.app.dataSource.query('SELECT * FROM stored_files')) + JSON.stringify(await t.app.dataSource.query('SELECT * FROM stored_file_chunks'));
    expect(raw).not.toContain('名单');
    expect(raw).not.toContain(Buffer.from('绝密内容').toString('base64').slice(0, 8));
  });

  it('downloads a sent file before the turn; a file nobody takes is deleted and the sender told', async () => {
    await t.app.inbound.acceptAndProcess(fileEvent('wecom:msg:f1', 'media-1'));
    expect(fake.downloads).toEqual(['media-1']);
    await t.app.outbox.runOnce();
    expect(fake.deliveredTo('zhangsan').join()).toContain('没有需要您提交文件的事项');
    expect(await t.app.dataSource.getRepository(StoredFileEntity).count()).toBe(0);
  });

  it('a download that fails is retried, and a retried turn does not fetch a stored file again', async () => {
    // The platform cannot give the file: the turn fails and the event stays for a retry.
    await t.app.inbound.accept(fileEvent('wecom:msg:f2', 'media-missing'));
    const row = await waitFor('a failed attempt', async () => {
      const rows = await t.app.dataSource.query("SELECT status, attempts FROM inbound_events WHERE id = 'wecom:msg:f2'");
      return Number(rows[0].attempts) >= 1 && rows[0];
    });
    expect(row).toMatchObject({ status: 'received' });
    const before = fake.downloads.length;
    // A file already stored for the event (a crash after the download) is used as it is.
    await t.app.transact((em) => storeFile(em, t.app.cipher, { purpose: 'upload', name: 'x.docx', mimeType: 'x', data: Buffer.from('y') }, Date.now(), storedFileIdFor('wecom:msg:f3')));
    await t.app.inbound.acceptAndProcess(fileEvent('wecom:msg:f3', 'media-1', 'x.docx'));
    expect(fake.downloads.slice(before)).toEqual([]);
  });

  it('refuses a type nobody takes without downloading it', async () => {
    await t.app.inbound.acceptAndProcess(fileEvent('wecom:msg:f4', 'media-1', '照片.exe'));
    expect(fake.downloads).toEqual([]);
  });
});

describe.each(testDatabases())('console files (%s)', (database) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp({ database, serve: true });
  });
  afterEach(() => t.stop());

  it('shows a file message as name, size and a loopback URL that downloads it', async () => {
    const data = Buffer.from('xlsx bytes');
    await t.app.transact((em) =>
      enqueueOutbound(em, t.app.cipher, { platform: 'console', recipients: [{ kind: 'user', userId: 'liu' }], content: { kind: 'file', fileName: '督查.xlsx', mimeType: 'application/vnd.ms-excel', dataBase64: data.toString('base64') } }, Date.now()),
    );
    const base = `http://127.0.0.1:${t.port}`;
    const inbox = (await (await fetch(`${base}/console/inbox/liu`)).json()) as { messages: { id: number; file: { name: string; size: number; url: string } }[] };
    const message = inbox.messages[0];
    expect(message.file).toMatchObject({ name: '督查.xlsx', size: data.length });
    expect(message.file.url).toBe(`${base}/console/files/${message.id}`);
    const download = await fetch(message.file.url);
    expect(Buffer.from(await download.arrayBuffer()).equals(data)).toBe(true);
    expect(download.headers.get('content-disposition')).toContain(encodeURIComponent('督查.xlsx'));
  });

  it('takes a file from a console user and answers it', async () => {
    const chat = consoleClient(t);
    const replies = await chat.sendFile('zhangsan', '报告.docx', Buffer.from('PK'));
    expect(texts(replies)).toContain('没有需要您提交文件的事项');
    const refused = await chat.sendFile('zhangsan', '病毒.exe', Buffer.from('MZ'));
    expect(texts(refused)).toContain('没有需要您提交文件的事项');
  });
});
