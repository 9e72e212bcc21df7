import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, requestContext } from './index.js';

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
  it('when logging inside a request, the line carries service, version and request id', () => {
    const { lines, destination } = capture();
    const log = createLogger({ service: 'svc', version: '1.2.3', destination });
    requestContext.run({ requestId: 'r-1' }, () => log.info('hello'));
    expect(lines[0]).toMatchObject({ service: 'svc', version: '1.2.3', requestId: 'r-1', msg: 'hello' });
  });

  it('when a request carries an authorization header, it is redacted', () => {
    const { lines, destination } = capture();
    const log = createLogger({ service: 'svc', version: '1', destination });
    log.info({ req: { headers: { authorization: 'Bearer abc' } }, user: { token: 'xyz' } }, 'x');
    const text = JSON.stringify(lines[0]);
    expect(text).not.toContain('abc');
    expect(text).not.toContain('xyz');
  });
});
