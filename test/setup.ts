import nock from 'nock';

// No test reaches a real platform: only loopback (supertest, fake gateways) is allowed.
beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect(/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/);
});
afterEach(() => {
  nock.cleanAll();
});
// Each test file loads its own copy of nock, which patches node:http again in the worker that runs
// the next file: without this, the patches pile up (MaxListenersExceededWarning on MockHttpSocket,
// sockets that linger after a connection is stopped). The file's own copy takes its patch off.
afterAll(() => {
  nock.restore();
});
import { installSocketErrorGuard } from './helpers/socket-error-guard';

installSocketErrorGuard();
