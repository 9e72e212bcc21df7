import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createLogger, redactUrl, requestContext } from './index.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(String(chunk)));
      cb();
    },
  });
  return { lines, destination };
}

describe('createLogger', () => {
  it('when logging inside a request, then the line carries service, version and request id', () => {
    const { lines, destination } = capture();
    const log = createLogger({ service: 'svc', version: '1.2.3', destination });
    requestContext.run({ requestId: 'r-1' }, () => log.info('hello'));
    expect(lines[0]).toMatchObject({
      service: 'svc',
      version: '1.2.3',
      requestId: 'r-1',
      msg: 'hello',
    });
  });

  it('when a request carries an authorization header, then it is redacted', () => {
    const { lines, destination } = capture();
    const log = createLogger({ service: 'svc', version: '1', destination });
    log.info({ req: { headers: { authorization: 'Bearer abc' } }, user: { token: 'xyz' } }, 'x');
    const text = JSON.stringify(lines[0]);
    expect(text).not.toContain('abc');
    expect(text).not.toContain('xyz');
  });
});

describe('redactUrl', () => {
  /** `access_token` written the way a client might: any character percent-encoded, any case. */
  const spelled = fc
    .array(fc.tuple(fc.boolean(), fc.boolean()), { minLength: 12, maxLength: 12 })
    .map((choices) =>
      [...'access_token']
        .map((ch, i) => {
          const [upper, encoded] = choices[i]!;
          const c = upper ? ch.toUpperCase() : ch;
          return encoded ? `%${c.charCodeAt(0).toString(16).toUpperCase()}` : c;
        })
        .join(''),
    );
  const value = fc.stringMatching(/^[A-Za-z0-9._-]{20,40}$/);

  it('when the token parameter is spelled, cased or repeated in any way, then no value a parser reads under that name survives, and other parameters are kept', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(spelled, value), { minLength: 1, maxLength: 3 }),
        fc.array(
          fc.tuple(
            fc.constantFrom('cursor', 'channels', 'x'),
            fc.stringMatching(/^[a-z0-9]{1,8}$/),
          ),
          { maxLength: 3 },
        ),
        (secrets, others) => {
          const pairs = [...secrets, ...others].map(([k, v]) => `${k}=${v}`);
          const redacted = redactUrl(`/api/v1/users/7/activity-stream?${pairs.join('&')}`);
          for (const [, v] of secrets) expect(redacted).not.toContain(v);
          const params = new URL(redacted, 'http://x').searchParams;
          for (const [name, v] of params)
            if (name.toLowerCase() === 'access_token') expect(v).toBe('[redacted]');
          for (const [k, v] of others) expect(params.getAll(k)).toContain(v);
        },
      ),
      { numRuns: 300 },
    );
  });
});
