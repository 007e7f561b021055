/** Serves the API over HTTP with @hono/node-server. */
import { serve, type ServerType } from '@hono/node-server';
import type { App } from './app.js';

export interface ApiServer {
  url: string;
  close(): Promise<void>;
}

export async function listen(app: App, host: string, port: number): Promise<ApiServer> {
  return new Promise((resolve, reject) => {
    let server: ServerType;
    try {
      server = serve({ fetch: app.fetch, hostname: host, port }, (info) => {
        resolve({
          url: `http://${host.includes(':') ? `[${host}]` : host}:${info.port}`,
          close: () =>
            new Promise<void>((done) => {
              server.close(() => done());
              // Idle keep-alive sockets would hold close() open.
              (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
            }),
        });
      });
      server.once('error', reject);
    } catch (error) {
      reject(error);
    }
  });
}
