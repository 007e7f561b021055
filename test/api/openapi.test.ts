/**
 * /openapi.json is a valid OpenAPI 3.1 document that lists every route the API serves under
 * /api/v1 with its error responses, and /docs renders it from assets the API serves itself.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../support/harness.js';

let harness: Harness;
let document: { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>>; components: { schemas: Record<string, unknown> } };

beforeAll(async () => {
  harness = await createHarness({ example: false });
});
afterAll(() => harness?.close());

/** The routes the app serves under /api/v1, as `METHOD /path/{param}`. */
function servedRoutes(): string[] {
  const app = harness.createApp();
  const routes = app.routes
    .filter((route) => route.path.startsWith('/api/v1/') && route.method !== 'ALL')
    .map((route) => `${route.method} ${route.path.replace(/:([^/]+)/g, '{$1}')}`);
  return [...new Set(routes)].sort();
}

describe('/openapi.json', () => {
  beforeAll(async () => {
    const response = await harness.fetch('/openapi.json');
    expect(response.status).toBe(200);
    document = (await response.json()) as typeof document;
  });

  it('validates as OpenAPI 3.1, and every $ref resolves', async () => {
    const validator = new Validator();
    const result = await validator.validate(document as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(() => validator.resolveRefs()).not.toThrow();
  });

  it('lists every route the app serves under /api/v1, each with at least one 4xx response', () => {
    const served = servedRoutes();
    // The configuration API is among them.
    expect(served).toEqual(
      expect.arrayContaining([
        'PATCH /api/v1/connection',
        'GET /api/v1/connection/{connection_key}/test',
        'PUT /api/v1/connection/{connection_key}/secret',
        'PATCH /api/v1/connection/{connection_key}/dataset',
        'DELETE /api/v1/connection/{connection_key}/dataset/{fides_key}',
        'PATCH /api/v1/dsr/policy',
        'PATCH /api/v1/dsr/policy/{policy_key}/rule',
        'PATCH /api/v1/dsr/policy/{policy_key}/rule/{rule_key}/target',
        'DELETE /api/v1/dsr/policy/{policy_key}/rule/{rule_key}/target/{rule_target_key}',
      ]),
    );
    const documented = Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`));
    expect(served.filter((route) => !documented.includes(route))).toEqual([]);
    const withoutErrors = served.filter((route) => {
      const [method, path] = route.split(' ');
      return !Object.keys(document.paths[path!]![method!.toLowerCase()]!.responses).some((status) => /^4\d\d$/.test(status));
    });
    expect(withoutErrors).toEqual([]);
  });

  it('documents the 404 of every route with a key in its path, and the 422 of every bulk upsert', () => {
    for (const [path, operations] of Object.entries(document.paths)) {
      if (!/^\/api\/v1\/(connection|dsr)/.test(path)) continue;
      for (const [method, operation] of Object.entries(operations)) {
        if (path.includes('{')) expect(Object.keys(operation.responses), `${method} ${path}`).toContain('404');
        if (method === 'patch') expect(Object.keys(operation.responses), `${method} ${path}`).toEqual(expect.arrayContaining(['400', '422']));
      }
    }
  });

  it('describes datasets, connections and policies, and never a secret in a response', () => {
    expect(Object.keys(document.components.schemas)).toEqual(expect.arrayContaining(['Dataset', 'DatasetField', 'Connection', 'ConnectionUpsert', 'Policy', 'Rule', 'RuleTarget']));
    expect(JSON.stringify(document.components.schemas.Connection)).not.toContain('"secrets"');
    const yaml = document.paths['/api/v1/connection/{connection_key}/dataset']!.patch as unknown as { requestBody: { content: Record<string, unknown> } };
    expect(Object.keys(yaml.requestBody.content)).toEqual(['application/json', 'application/x-yaml', 'application/yaml', 'text/yaml']);
  });
});

describe('/docs', () => {
  it('answers an HTML page whose assets all come from the API itself', async () => {
    const response = await harness.fetch('/docs');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    const html = await response.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(3);
    expect(assets.filter((url) => !url.startsWith('/docs/assets/'))).toEqual([]);
    for (const url of assets) {
      const asset = await harness.fetch(url);
      expect(asset.status, url).toBe(200);
      expect((await asset.arrayBuffer()).byteLength, url).toBeGreaterThan(0);
    }
    const init = await (await harness.fetch('/docs/assets/init.js')).text();
    expect(init).toContain("url: '/openapi.json'");
    expect(assets).toEqual(expect.arrayContaining(['/docs/assets/swagger-ui-bundle.js', '/docs/assets/swagger-ui.css', '/docs/assets/init.js']));
  });

  it('serves only the files the page needs', async () => {
    expect((await harness.fetch('/docs/assets/package.json')).status).toBe(404);
    expect((await harness.fetch('/docs/assets/..%2F..%2Fpackage.json')).status).toBe(404);
  });
});
