import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDuration } from '../../src/config.js';

describe('configuration', () => {
  it('works with nothing set, with defaults for this machine', () => {
    const config = loadConfig({});
    expect(config.databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/dsrflow');
    expect(config.temporal).toMatchObject({ address: undefined, namespace: 'default', taskQueue: 'dsrflow', devPort: 7233, uiPort: 8233 });
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8080, maxBodyBytes: 1024 * 1024, corsOrigins: [], allowedHosts: ['localhost', '127.0.0.1', '[::1]'] });
    expect(config.execution.heartbeatTimeoutMs).toBe(30_000);
    expect(config.auth).toEqual({ rootClient: undefined, tokenTtlMs: 3_600_000, loginMaxFailures: 5, loginLockoutMs: 900_000, rateLimitPerMinute: 20 });
  });

  it('reads the security settings', () => {
    const secret = 'x'.repeat(32);
    const config = loadConfig({
      DSRFLOW_ROOT_CLIENT_ID: 'ops-root',
      DSRFLOW_ROOT_CLIENT_SECRET: secret,
      DSRFLOW_TOKEN_TTL: '15m',
      DSRFLOW_MAX_BODY_SIZE: '512KiB',
      DSRFLOW_CORS_ORIGINS: 'https://console.example, https://other.example',
      HOST: '0.0.0.0',
      DSRFLOW_PUBLIC_URL: 'https://Privacy.Example.com/',
      DSRFLOW_CODEC_UI_KEY: 'k'.repeat(40),
    });
    expect(config.auth.rootClient).toEqual({ id: 'ops-root', secret });
    expect(config.auth.tokenTtlMs).toBe(900_000);
    expect(config.http).toMatchObject({ maxBodyBytes: 512 * 1024, corsOrigins: ['https://console.example', 'https://other.example'] });
    // A wildcard HOST is not a name to answer to; the public URL's host is.
    expect(config.http.allowedHosts).toEqual(['localhost', '127.0.0.1', '[::1]', 'privacy.example.com']);
    expect(loadConfig({ DSRFLOW_ALLOWED_HOSTS: '*' }).http.allowedHosts).toBe('*');
    expect(loadConfig({ DSRFLOW_ALLOWED_HOSTS: 'API.internal, api' }).http.allowedHosts).toEqual(['api.internal', 'api']);
    expect(config.codecEndpoint?.uiKey).toBe('k'.repeat(40));
    expect(() => loadConfig({ DSRFLOW_ROOT_CLIENT_ID: 'ops-root' })).toThrow(/DSRFLOW_ROOT_CLIENT_SECRET: set DSRFLOW_ROOT_CLIENT_ID and DSRFLOW_ROOT_CLIENT_SECRET together/);
    expect(() => loadConfig({ DSRFLOW_ROOT_CLIENT_ID: 'ops-root', DSRFLOW_ROOT_CLIENT_SECRET: 'short' })).toThrow(/DSRFLOW_ROOT_CLIENT_SECRET: expected at least 32 characters/);
    expect(() => loadConfig({ DSRFLOW_MAX_BODY_SIZE: 'huge' })).toThrow(/DSRFLOW_MAX_BODY_SIZE: expected a size/);
    expect(() => loadConfig({ DSRFLOW_CODEC_UI_KEY: 'short' })).toThrow(/DSRFLOW_CODEC_UI_KEY/);
  });

  it('reads durations and numbers', () => {
    const config = loadConfig({ DSRFLOW_ACTIVITY_HEARTBEAT_TIMEOUT: '1500ms', DSRFLOW_IDENTITY_TTL: '2d', PORT: '9000', TEMPORAL_ADDRESS: 'temporal:7233' });
    expect(config.execution.heartbeatTimeoutMs).toBe(1500);
    expect(config.identityTtlMs).toBe(2 * 86_400_000);
    expect(config.http.port).toBe(9000);
    expect(config.temporal.address).toBe('temporal:7233');
    // Collections that start together share an activity unless told otherwise.
    expect(config.execution.batchCollections).toBe(true);
    expect(loadConfig({ DSRFLOW_COLLECTION_BATCHES: 'false' }).execution.batchCollections).toBe(false);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('soon')).toBeUndefined();
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', TEMPORAL_ADDRESS: '' }).http.port).toBe(8080);
  });

  it.each([
    ['PORT', 'eighty', /PORT: expected an integer from 0 to 65535, got "eighty"/],
    ['PORT', '70000', /PORT: expected an integer/],
    ['DATABASE_URL', 'mysql://localhost/db', /DATABASE_URL: expected a URL such as postgres:\/\//],
    ['TEMPORAL_ADDRESS', 'http://temporal', /TEMPORAL_ADDRESS: expected host:port/],
    ['DSRFLOW_ACTIVITY_HEARTBEAT_TIMEOUT', 'a while', /DSRFLOW_ACTIVITY_HEARTBEAT_TIMEOUT: expected a duration/],
    ['DSRFLOW_ENCRYPTION_KEY', 'short', /DSRFLOW_ENCRYPTION_KEY: expected 32 random bytes in base64/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL/],
    ['DSRFLOW_COLLECTION_BATCHES', 'yes', /DSRFLOW_COLLECTION_BATCHES: expected true or false/],
  ])('refuses %s=%s, naming the variable', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });

  it('names every bad variable at once', () => {
    expect(() => loadConfig({ PORT: 'x', TEMPORAL_UI_PORT: 'y' })).toThrow(/^(?=[\s\S]*\n  PORT: )(?=[\s\S]*\n  TEMPORAL_UI_PORT: )/);
  });

  it('serves the codec endpoint for the dev server UI, and not in production unless asked', () => {
    expect(loadConfig({}).codecEndpoint).toEqual({ origins: ['http://127.0.0.1:8233', 'http://localhost:8233'] });
    expect(loadConfig({ TEMPORAL_UI_PORT: '9233' }).codecEndpoint!.origins).toContain('http://localhost:9233');
    const key = Buffer.alloc(32, 1).toString('base64');
    expect(loadConfig({ NODE_ENV: 'production', DSRFLOW_ENCRYPTION_KEY: key }).codecEndpoint).toBeUndefined();
    expect(loadConfig({ NODE_ENV: 'production', DSRFLOW_ENCRYPTION_KEY: key, DSRFLOW_CODEC_ENDPOINT: 'true', DSRFLOW_CODEC_CORS_ORIGINS: 'https://temporal.example' }).codecEndpoint).toEqual({
      origins: ['https://temporal.example'],
    });
  });

  it('requires an encryption key in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/DSRFLOW_ENCRYPTION_KEY: required when NODE_ENV=production/);
  });

  it('reads the connection test deadline as a duration, 10s by default', () => {
    expect(loadConfig({}).connections.testTimeoutMs).toBe(10_000);
    expect(loadConfig({ DSRFLOW_CONNECTION_TEST_TIMEOUT: '2s' }).connections.testTimeoutMs).toBe(2000);
    expect(() => loadConfig({ DSRFLOW_CONNECTION_TEST_TIMEOUT: 'soon' })).toThrow(/DSRFLOW_CONNECTION_TEST_TIMEOUT: expected a duration/);
  });
});
