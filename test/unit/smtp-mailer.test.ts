/**
 * The mailer keeps a few connections between messages (src/messages/smtp.ts): a busy worker does
 * not open a connection per message, and a kept connection that the server has closed meanwhile
 * costs nothing but a new one: the message still arrives, once. A real SMTP server on loopback.
 */
import type { AddressInfo, Socket } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMailer, SmtpError } from '../../src/messages/smtp.js';

const received: string[] = [];
const sockets = new Set<Socket>();
let connections = 0;
let refuseNext = 0;
const server = new SMTPServer({
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  onConnect: (_session, callback) => {
    connections += 1;
    callback();
  },
  onRcptTo: (address, _session, callback) => {
    if (refuseNext > 0) {
      refuseNext -= 1;
      return callback(Object.assign(new Error('No such mailbox'), { responseCode: 550 }));
    }
    callback();
  },
  onData: (stream, _session, callback) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      received.push(Buffer.concat(chunks).toString('utf8'));
      callback();
    });
  },
});
server.server.on('connection', (socket: Socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});

let port: number;
beforeAll(async () => {
  // A client that dies resets its connection; smtp-server emits that as an 'error', which unheard ends the process.
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
afterEach(() => {
  received.length = 0;
  connections = 0;
  refuseNext = 0;
});

const mailerFor = () => createMailer({ host: '127.0.0.1', port, secure: false, user: undefined, password: undefined, timeoutMs: 5_000 }, 'dsrflow <privacy@example.com>');
const message = (n: number) => ({ to: `person${n}@example.com`, subject: `Message ${n}`, text: `Hello ${n}`, html: `<p>Hello ${n}</p>`, messageId: `<m${n}@dsrflow>`, headers: {} });

describe('the SMTP mailer', () => {
  it('sends one message after another over one kept connection', async () => {
    const mailer = mailerFor();
    try {
      for (let n = 1; n <= 5; n += 1) await mailer.send(message(n));
    } finally {
      mailer.close();
    }
    expect(received.map((text) => /Subject: (.*)/.exec(text)?.[1])).toEqual(['Message 1', 'Message 2', 'Message 3', 'Message 4', 'Message 5']);
    expect(connections).toBe(1);
  });

  it('sends side by side over a few connections, each message once', async () => {
    const mailer = mailerFor();
    try {
      await Promise.all([1, 2, 3, 4, 5, 6].map((n) => mailer.send(message(n))));
      await Promise.all([7, 8, 9, 10, 11, 12].map((n) => mailer.send(message(n))));
    } finally {
      mailer.close();
    }
    expect(received).toHaveLength(12);
    expect(new Set(received.map((text) => /Subject: (.*)/.exec(text)?.[1])).size).toBe(12);
    // Six at once open six; four of them are kept for the next six.
    expect(connections).toBe(8);
  });

  it('sends over a new connection when the server closed the kept one, once', async () => {
    const mailer = mailerFor();
    try {
      await mailer.send(message(1));
      for (const socket of sockets) socket.destroy(); // the server drops its idle client
      await new Promise((resolve) => setTimeout(resolve, 50));
      await mailer.send(message(2));
      // Dropped while the next message is on its way: before a byte of it was handed over.
      const third = mailer.send(message(3));
      for (const socket of sockets) socket.end();
      await third;
    } finally {
      mailer.close();
    }
    expect(received.map((text) => /Subject: (.*)/.exec(text)?.[1])).toEqual(['Message 1', 'Message 2', 'Message 3']);
  });

  it('keeps a refusal a refusal: 5xx is permanent, and the next message still goes', async () => {
    const mailer = mailerFor();
    try {
      refuseNext = 1;
      const refused = await mailer.send(message(1)).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(SmtpError);
      expect((refused as SmtpError).kind).toBe('permanent');
      await mailer.send(message(2));
    } finally {
      mailer.close();
    }
    expect(received).toHaveLength(1);
  });
});
