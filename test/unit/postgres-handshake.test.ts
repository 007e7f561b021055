import { describe, expect, it } from 'vitest';
import { HandshakeCheck, MAX_SCRAM_ITERATIONS } from '../../src/connectors/postgres-handshake.js';
import { backendMessage, errorResponse, int32 } from '../support/foreign-servers.js';

const authentication = (kind: number, body = Buffer.alloc(0)) => backendMessage('R', int32(kind), body);
const scram = (text: string) => authentication(11, Buffer.from(text));
const ready = backendMessage('Z', Buffer.from('I'));

/** Feeds the chunks in order; returns the first refusal's message, or undefined. */
function check(...chunks: Buffer[]): string | undefined {
  const handshake = new HandshakeCheck('db:5432');
  for (const chunk of chunks) {
    const refused = handshake.check(chunk);
    if (refused) return `${refused.category}: ${refused.message}`;
  }
  return undefined;
}

describe('what a server may send before its session is ready', () => {
  it('accepts a whole Postgres startup, however it is split, and anything after ReadyForQuery', () => {
    const startup = Buffer.concat([
      authentication(10, Buffer.from('SCRAM-SHA-256\0\0')),
      scram('r=abc,s=QSXCR+Q6sek8bf92,i=4096'),
      authentication(12, Buffer.from('v=xyz')),
      authentication(0),
      backendMessage('S', Buffer.from('server_version\x0016.4\0')),
      backendMessage('K', int32(42), int32(7)),
      backendMessage('N', Buffer.from('Mhello\0\0')),
      ready,
      Buffer.from('anything at all: the session is postgres.js\'s now'),
    ]);
    expect(check(startup)).toBeUndefined();
    expect(check(...[...startup].map((byte) => Buffer.from([byte])))).toBeUndefined();
    expect(check(authentication(5, Buffer.from('salt')), authentication(0), ready)).toBeUndefined();
    expect(check(errorResponse('28P01', 'password authentication failed'))).toBeUndefined();
  });

  it.each([
    ['another protocol', [Buffer.from('INFO {"server_id":"x"}\r\n')], /^not_found: .*does not speak the Postgres protocol/],
    ['a text error line', [Buffer.from('ERROR unknown command\r\n')], /^not_found: /], // E, but no sane length
    ['a message Postgres does not send first', [ready], /^not_found: /],
    ['an unknown message later', [authentication(0), backendMessage('D', int32(0))], /^not_found: /],
    ['an authentication kind postgres.js cannot answer (GSS)', [authentication(7)], /^authentication: .*not support \(7\)/],
    ['a malformed MD5 request', [authentication(5, Buffer.from('s'))], /^authentication: .*malformed MD5/],
    ['a SCRAM challenge without a nonce', [scram('s=QSXCR+Q6sek8bf92,i=4096')], /without a nonce/],
    ['a SCRAM challenge without a salt', [scram('r=abc,i=4096')], /without a valid salt/],
    ['a SCRAM challenge without iterations', [scram('r=abc,s=QSXCR+Q6sek8bf92,i=lots')], /without a valid iteration count/],
    ['a SCRAM challenge that would block the process', [scram(`r=abc,s=QSXCR+Q6sek8bf92,i=${MAX_SCRAM_ITERATIONS + 1}`)], /asking for 1000001 iterations/],
  ])('refuses %s', (_what, chunks, expected) => {
    expect(check(...chunks)).toMatch(expected);
  });
});
