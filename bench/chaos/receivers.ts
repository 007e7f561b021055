/**
 * What the outside world sees during the chaos run: an SMTP server (the smtp-server library) and a
 * webhook receiver, both in this process on 127.0.0.1, counting every message by its Message-ID
 * and every webhook by its `webhook-id`, so that anything sent twice shows.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { verify } from '../../src/webhooks/signature.js';

export class CountingSmtpServer {
  /** Message-ID → how many times the server accepted it. */
  readonly byMessageId = new Map<string, number>();
  accepted = 0;
  private readonly server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    logger: false,
    onData: (stream, _session, callback) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        // Headers end at the first empty line; Message-ID may be folded onto the next line.
        const headers = text.split(/\r?\n\r?\n/, 1)[0]!.replace(/\r?\n[ \t]+/g, ' ');
        const id = /^message-id:\s*(\S+)/im.exec(headers)?.[1] ?? '(none)';
        this.byMessageId.set(id, (this.byMessageId.get(id) ?? 0) + 1);
        this.accepted += 1;
        callback();
      });
    },
  });
  port = 0;

  async listen(): Promise<number> {
    // A client that dies (a killed worker) resets its connection; smtp-server emits that as an 'error', which unheard would end this process.
    this.server.on('error', () => undefined);
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.server.address() as AddressInfo).port;
    return this.port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export class CountingWebhookReceiver {
  /** webhook-id (the delivery id) → how many times it was accepted (2xx). */
  readonly byDeliveryId = new Map<string, number>();
  /** Requests whose signature did not verify (answered 401). */
  unverified = 0;
  accepted = 0;
  secret = '';
  private server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let id: string | undefined;
        try {
          id = verify(this.secret, body, request.headers).id;
        } catch {
          this.unverified += 1;
          response.writeHead(401).end();
          return;
        }
        this.byDeliveryId.set(id, (this.byDeliveryId.get(id) ?? 0) + 1);
        this.accepted += 1;
        response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/dsrflow`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
