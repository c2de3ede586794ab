import { PayloadError, SignatureError } from '../../src/core/errors';
import { decryptVerified, openSigned, sealForCorp, verifySignature } from '../../src/platforms/wecom/wecom-crypto';
import { VECTOR_A, VECTOR_B } from './wecom-fixtures';

describe('WeCom cipher with the official vectors', () => {
  it('A1: verifies the URL-check signature and yields the echo', () => {
    const { get, keys } = VECTOR_A;
    expect(openSigned(keys, get, get.echostr)).toBe(get.echo);
  });

  it('A2: verifies the message signature and yields the plaintext XML', () => {
    const { post, keys } = VECTOR_A;
    expect(openSigned(keys, post, post.encrypt)).toBe(post.plaintext);
  });

  it('B1 and B2 open the same way', () => {
    const { get, post, keys } = VECTOR_B;
    expect(openSigned(keys, get, get.echostr)).toBe(get.echo);
    expect(openSigned(keys, post, post.encrypt)).toBe(post.plaintext);
  });

  it('B2 re-encrypts byte for byte with its random prefix (the deterministic encrypt)', () => {
    const { post, keys } = VECTOR_B;
    expect(sealForCorp(keys, post.plaintext, Buffer.from(post.random))).toBe(post.encrypt);
  });

  it('C: the deterministic encrypt of the MP sample', () => {
    const keys = { token: 't', encodingAesKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG', corpId: 'wxb11529c136998cb6' };
    expect(sealForCorp(keys, '我是中文abcd123', Buffer.from('aaaabbbbccccdddd'))).toBe(
      'jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==',
    );
  });
});

describe('WeCom cipher refusals', () => {
  const { post, keys } = VECTOR_A;

  it('refuses a wrong token, a changed signature and a malformed signature', () => {
    expect(() => openSigned({ ...keys, token: 'wrong' }, post, post.encrypt)).toThrow(SignatureError);
    expect(() => openSigned(keys, { ...post, signature: post.signature.replace(/^./, '0') }, post.encrypt)).toThrow(SignatureError);
    expect(() => verifySignature(keys.token, { ...post, signature: 'abc' }, post.encrypt)).toThrow(SignatureError);
    expect(() => verifySignature(keys.token, { ...post, nonce: '1' }, post.encrypt)).toThrow(SignatureError);
  });

  it('refuses a message sealed for another corp, and a wrong key (which the library does not notice)', () => {
    expect(() => decryptVerified({ ...keys, corpId: 'ww-other' }, post.encrypt)).toThrow(SignatureError);
    expect(() => decryptVerified({ ...keys, encodingAesKey: VECTOR_B.keys.encodingAesKey }, post.encrypt)).toThrow();
  });

  it('refuses bad or truncated base64', () => {
    expect(() => decryptVerified(keys, 'not base64 at all!')).toThrow(PayloadError);
    expect(() => decryptVerified(keys, post.encrypt.slice(0, 50))).toThrow(PayloadError);
    expect(() => decryptVerified(keys, post.encrypt.slice(0, 64))).toThrow();
  });
});

describe('WeCom decryption agrees with the sealing library on every padding length', () => {
  const { keys } = VECTOR_A;

  it('opens what @wecom/crypto sealed, for messages of 0 to 70 bytes and multi-byte text', () => {
    // 0..70 bytes cross every pad length from 1 to 32 (the body is padded to a multiple of 32).
    for (let length = 0; length <= 70; length++) {
      const message = 'x'.repeat(length);
      expect(decryptVerified(keys, sealForCorp(keys, message))).toBe(message);
    }
    const chinese = '<xml><Content><![CDATA[我的心声：一二三]]></Content></xml>';
    expect(decryptVerified(keys, sealForCorp(keys, chinese))).toBe(chinese);
  });

  it('refuses base64 with characters outside the alphabet or padding in the middle', () => {
    const sealed = sealForCorp(keys, 'hello');
    expect(() => decryptVerified(keys, `${sealed.slice(0, 8)}*${sealed.slice(9)}`)).toThrow(PayloadError);
    expect(() => decryptVerified(keys, `${sealed.slice(0, 8)}=${sealed.slice(9)}`)).toThrow(PayloadError);
    expect(() => decryptVerified(keys, `${sealed.slice(0, 8)}\u00e9${sealed.slice(9)}`)).toThrow(PayloadError);
  });
});
