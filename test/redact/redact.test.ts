import { redactCredentials, redactSecrets, secretForms } from '../../src/redact.js';

describe('redactSecrets', () => {
  const secret = 'p@ss w/rd+é';
  it.each(secretForms(secret).map((f) => [f]))('hides the form %s', (form) => {
    const out = redactSecrets(`before ${form} after`, [secret]);
    expect(out).toBe('before *** after');
  });
  it('hides lower-case percent-encoding, form encoding and base64', () => {
    const text = [
      encodeURIComponent(secret).toLowerCase(),
      encodeURIComponent(secret).replace(/%20/g, '+'),
      Buffer.from(secret).toString('base64'),
    ].join(' | ');
    expect(redactSecrets(text, [secret])).toBe('*** | *** | ***');
  });
  it('hides a longer secret whole when it contains a shorter one', () => {
    expect(redactSecrets('x abcdef y', ['abc', 'abcdef'])).toBe('x *** y');
  });
  it('ignores empty and undefined secrets', () => {
    expect(redactSecrets('plain text', ['', undefined])).toBe('plain text');
  });
});

describe('redactCredentials', () => {
  it('hides a URL password holding an unencoded @, / and :', () => {
    expect(redactCredentials('at postgres://app:p@ss:w/rd%25@db:5432/x?sslmode=require.')).toBe(
      'at postgres://app:***@db:5432/x?sslmode=require.',
    );
  });
  it('hides password= in conninfo and query strings, JSON secret fields and Authorization', () => {
    expect(redactCredentials("host=h password='a b' user=u")).toBe('host=h password=*** user=u');
    expect(redactCredentials('postgres://h/db?password=abc&sslmode=require')).toBe(
      'postgres://h/db?password=***&sslmode=require',
    );
    expect(redactCredentials('{"token":"ab\\"c","n":1}')).toBe('{"token":"***","n":1}');
    expect(redactCredentials('Authorization: Bearer abc.def')).toBe('Authorization: Bearer ***');
  });
  it('keeps a word after "authorization" and stops a header value at markup', () => {
    expect(redactCredentials('headers.authorization: expected "x"')).toBe(
      'headers.authorization: expected "x"',
    );
    expect(redactCredentials('Authorization: tok_1234abcd</p>')).toBe('Authorization: ***</p>');
  });
  it('leaves text without credentials alone', () => {
    const text = 'see https://example.com/a@b and mail user@host, 5xx rate 0.3%';
    expect(redactCredentials(text)).toBe(text);
  });
});
