import nock from 'nock';

// No test reaches a real platform: only loopback (supertest, fake gateways) is allowed.
beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect(/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/);
});
afterEach(() => {
  nock.cleanAll();
});
import { installSocketErrorGuard } from './helpers/socket-error-guard';

installSocketErrorGuard();
