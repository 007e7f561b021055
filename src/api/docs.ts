/**
 * `/docs`: Swagger UI for /openapi.json, served entirely by the API (swagger-ui-dist's files
 * under /docs/assets), so it works offline and behind firewalls. No CDN.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Hono } from 'hono';

const require = createRequire(import.meta.url);
const SWAGGER_UI_DIR: string = (require('swagger-ui-dist') as { getAbsoluteFSPath(): string }).getAbsoluteFSPath();

/** The files the page uses, and the content type of each. Nothing else is served from the package. */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui.css.map': 'application/json',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-bundle.js.map': 'application/json',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

/** Starts Swagger UI; a file rather than an inline script, so the page's CSP can forbid inline scripts. */
const INIT_SCRIPT = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
  validatorUrl: null,
  tryItOutEnabled: false,
});
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>dsrflow API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png" sizes="32x32">
  <link rel="icon" type="image/png" href="/docs/assets/favicon-16x16.png" sizes="16x16">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/init.js"></script>
</body>
</html>
`;

/** Everything from this origin; Swagger UI sets inline styles and shows data: images. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

export function docsRoutes() {
  const cache = new Map<string, Promise<Buffer>>();
  const load = (name: string) => {
    let file = cache.get(name);
    if (!file) {
      file = readFile(join(SWAGGER_UI_DIR, name));
      file.catch(() => cache.delete(name));
      cache.set(name, file);
    }
    return file;
  };

  return new Hono()
    .get('/', (c) => {
      c.header('content-security-policy', CSP);
      return c.html(PAGE);
    })
    .get('/assets/init.js', (c) => {
      c.header('content-type', 'text/javascript; charset=utf-8');
      return c.body(INIT_SCRIPT);
    })
    .get('/assets/:name', async (c) => {
      const name = c.req.param('name');
      const type = ASSETS[name];
      if (!type) return c.json({ error: 'not_found', message: `No docs asset ${name}` }, 404);
      const content = await load(name);
      c.header('content-type', type);
      c.header('cache-control', 'public, max-age=86400');
      return c.body(new Uint8Array(content));
    });
}
