/**
 * The one place where dsrflow reads its environment.
 *
 * Every setting has a default that works on a developer machine (Postgres at 127.0.0.1:5432,
 * a Temporal dev server started by `npm start`). A bad value stops the process at start with a
 * message naming the variable, never later in the middle of a request.
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { z } from 'zod';
import { parseAllowList, type AllowList } from './connectors/allow-list.js';
import type { StorageSettings } from './storage/index.js';
import type { ExecutionSettings } from './domain/lifecycle.js';
import { isTimeZone } from './domain/deadlines.js';

/** Durations are written `500ms`, `30s`, `5m`, `2h` or `14d`; plain numbers are milliseconds. */
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const unit = (match[2] ?? 'ms') as keyof typeof UNIT_MS;
  return Math.round(Number(match[1]) * UNIT_MS[unit]);
}

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `expected a duration such as 30s, 5m or 14d, got "${text}"` });
        return z.NEVER;
      }
      return ms;
    });

const integer = (fallback: number, min: number, max: number) =>
  z
    .string()
    .default(String(fallback))
    .transform((text, ctx) => {
      const value = Number(text);
      if (!/^-?\d+$/.test(text.trim()) || value < min || value > max) {
        ctx.addIssue({ code: 'custom', message: `expected an integer from ${min} to ${max}, got "${text}"` });
        return z.NEVER;
      }
      return value;
    });

const postgresUrl = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine((text) => /^postgres(ql)?:\/\/[^/]/.test(text) && URL.canParse(text), {
      message: 'expected a URL such as postgres://user:password@host:5432/database',
    });

const hostPort = z
  .string()
  .refine((text) => /^[^\s:/]+:\d{1,5}$/.test(text), { message: 'expected host:port, such as temporal:7233' });

const allowList = z.string().transform((text, ctx) => {
  try {
    return parseAllowList(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

const encryptionKey = z
  .string()
  .refine((text) => Buffer.from(text, 'base64').length === 32, {
    message: 'expected 32 random bytes in base64 (for example: openssl rand -base64 32)',
  });

/** Sizes are written `512KiB`, `1MiB`, `2MB` or plain bytes. */
const SIZE = /^(\d+)\s*(b|kb|kib|mb|mib)?$/i;
const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1000, kib: 1024, mb: 1_000_000, mib: 1024 * 1024 };
export function parseSize(text: string): number | undefined {
  const match = SIZE.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * SIZE_UNITS[(match[2] ?? 'b').toLowerCase()]!;
}

const size = (fallback: string, min: number, max: number) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const bytes = parseSize(text);
      if (bytes === undefined || bytes < min || bytes > max) {
        ctx.addIssue({ code: 'custom', message: `expected a size from ${min} bytes to ${max / 1024 / 1024} MiB such as 512KiB or 1MiB, got "${text}"` });
        return z.NEVER;
      }
      return bytes;
    });

/** A comma-separated list; blanks dropped. */
const list = (text: string | undefined): string[] => (text ?? '').split(',').map((item) => item.trim()).filter(Boolean);

const httpUrl = z.string().refine((text) => /^https?:\/\/[^/]/.test(text) && URL.canParse(text), { message: 'expected an http(s) URL such as https://privacy.example.com' });

/** `s3://bucket/optional/prefix`, a `file:` URL, or a directory path. */
const storageLocation = z.string().refine((text) => !text.startsWith('s3:') || /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(text), {
  message: 'expected a directory, or s3://bucket/prefix with a valid bucket name',
});

/** An SMTP URL; the message never repeats it, since it may hold a password. */
const smtpUrl = z.string().refine((text) => /^smtps?:\/\/[^/?#]/.test(text) && URL.canParse(text) && new URL(text).hostname !== '', {
  message: 'expected a URL such as smtp://user:password@host:587 or smtps://user:password@host:465',
});

/** `privacy@example.com` or `Name <privacy@example.com>`. */
const mailbox = z.string().refine((text) => /^([^<>\r\n]*<[^<>\s@]+@[^<>\s@]+>|[^<>\s@]+@[^<>\s@]+)$/.test(text.trim()), {
  message: 'expected an address such as privacy@example.com or "Privacy team <privacy@example.com>"',
});

const environmentSchema = z.object({
  /** The service's own database: privacy requests, logs, configuration. */
  DATABASE_URL: postgresUrl('postgres://postgres@127.0.0.1:5432/dsrflow'),
  /** An existing Temporal frontend. When unset, `npm start` runs the Temporal CLI dev server. */
  TEMPORAL_ADDRESS: hostPort.optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('dsrflow'),
  /** The Temporal CLI binary; otherwise found on PATH, in the user cache, or built with Go. */
  TEMPORAL_CLI_PATH: z.string().min(1).optional(),
  /** Ports of the dev server `npm start` runs when TEMPORAL_ADDRESS is unset. */
  TEMPORAL_DEV_PORT: integer(7233, 1, 65535),
  TEMPORAL_UI_PORT: integer(8233, 1, 65535),
  /** The Temporal Web UI the console links requests' workflows to; the dev server's when TEMPORAL_ADDRESS is unset. */
  DSRFLOW_TEMPORAL_UI_URL: httpUrl.optional(),
  /** How long `npm start` waits for the dev server it starts (a cold first start on 2 cores is slow). */
  DSRFLOW_TEMPORAL_START_TIMEOUT: duration('3m').refine((ms) => ms >= 1_000, { message: 'expected at least 1s' }),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: integer(8080, 0, 65535),
  /** Where `npm start` keeps local state: the Temporal dev server's SQLite file, generated keys. */
  DSRFLOW_DATA_DIR: z.string().min(1).default('.data'),
  /**
   * Key for data encrypted at rest (identities, connection secrets). Required in production;
   * `npm start` generates one under DSRFLOW_DATA_DIR when it is unset.
   */
  DSRFLOW_ENCRYPTION_KEY: encryptionKey.optional(),
  /** How long a request's identity values are kept before they are purged. */
  DSRFLOW_IDENTITY_TTL: duration('30d'),
  /** Activity timeouts and retries for collection queries. */
  DSRFLOW_ACTIVITY_START_TO_CLOSE_TIMEOUT: duration('10m'),
  DSRFLOW_ACTIVITY_HEARTBEAT_TIMEOUT: duration('30s'),
  DSRFLOW_ACTIVITY_MAX_ATTEMPTS: integer(5, 1, 1000),
  DSRFLOW_ACTIVITY_INITIAL_RETRY_INTERVAL: duration('1s'),
  /** How many collections of one request run at the same time. */
  DSRFLOW_COLLECTION_CONCURRENCY: integer(8, 1, 1000),
  /** The collections of one connection that start together run in one activity (fewer Temporal actions); false: one activity each. */
  DSRFLOW_COLLECTION_BATCHES: z.enum(['true', 'false'], { error: 'expected true or false' }).default('true'),
  /** Every request waits for a person's approval, whatever its policy says. */
  DSRFLOW_REQUIRE_APPROVAL: z.enum(['true', 'false'], { error: 'expected true or false' }).default('false'),
  /** How long a manual collection waits for a person, and what then: skip it, or keep waiting. */
  DSRFLOW_MANUAL_DEADLINE: duration('14d'),
  DSRFLOW_MANUAL_DEADLINE_ACTION: z.enum(['skip', 'wait'], { error: 'expected skip or wait' }).default('wait'),
  /** The IANA time zone in which deadlines count days (a request received at 23:30 in New York is received that day). */
  DSRFLOW_TIME_ZONE: z
    .string()
    .default('UTC')
    .refine((zone) => isTimeZone(zone), { message: 'expected an IANA time zone such as UTC, Europe/Berlin or America/New_York' }),
  /** Reminders before a request is due: durations, comma-separated. */
  DSRFLOW_DEADLINE_REMINDERS: z
    .string()
    .default('7d,1d')
    .transform((text, ctx) => {
      const leads = text.split(',').map((part) => part.trim()).filter(Boolean).map((part) => parseDuration(part));
      if (leads.some((lead) => lead === undefined || lead <= 0) || leads.length > 10) {
        ctx.addIssue({ code: 'custom', message: `expected up to 10 durations such as 7d,1d, got "${text}"` });
        return z.NEVER;
      }
      return [...new Set(leads as number[])].sort((a, b) => b - a);
    }),
  /** Replaces every regulation's period to respond (an internal SLA; tests use seconds). */
  DSRFLOW_RESPONSE_PERIOD: duration('0'),
  /** Replaces the length of the one extension, where the regulation allows one. */
  DSRFLOW_EXTENSION_PERIOD: duration('0'),
  /** How long a verification code stays valid; the request is denied (insuf_verification) when it expires unverified. */
  DSRFLOW_VERIFICATION_TTL: duration('24h').refine((ms) => ms >= 1000, { message: 'expected at least 1s' }),
  /** Mark a request for the same identity and policy as an open (or recent) one as a duplicate, and do not run it. */
  DSRFLOW_DUPLICATE_DETECTION: z.enum(['true', 'false'], { error: 'expected true or false' }).default('false'),
  /** Besides open requests, requests received this long before count as the original (0: open ones only). */
  DSRFLOW_DUPLICATE_WINDOW: duration('0'),
  /** History events after which a long request continues as new (Temporal's hard limit is 51,200). */
  DSRFLOW_HISTORY_EVENT_LIMIT: integer(10_000, 50, 50_000),
  /** The largest page the listings answer (`size`); the default page size is 50 or this, whichever is smaller. */
  DSRFLOW_MAX_PAGE_SIZE: integer(50, 1, 1000),
  /** How often each worker purges expired data (identities past their TTL). */
  DSRFLOW_MAINTENANCE_INTERVAL: duration('10m'),
  /**
   * A prebuilt workflow bundle (a JavaScript file written by `npm run bundle`): the worker loads it
   * instead of bundling the workflow code at start (seconds, on a small machine).
   */
  DSRFLOW_WORKFLOW_BUNDLE: z.string().min(1).optional(),
  /** Serve /codec (decrypts payloads for the Temporal Web UI). Default: on, except in production. */
  DSRFLOW_CODEC_ENDPOINT: z.enum(['true', 'false'], { error: 'expected true or false' }).optional(),
  /** Origins allowed to call the codec endpoint, comma-separated; default: the dev server's Web UI. */
  DSRFLOW_CODEC_CORS_ORIGINS: z.string().optional(),
  /**
   * Where access packages are written: a directory (default: access-packages under
   * DSRFLOW_DATA_DIR) or an S3-compatible bucket, `s3://bucket/prefix`. For a bucket:
   * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN), AWS_REGION, and for stores other
   * than AWS itself DSRFLOW_ACCESS_PACKAGE_S3_ENDPOINT.
   */
  DSRFLOW_ACCESS_PACKAGE_STORAGE: storageLocation.optional(),
  DSRFLOW_ACCESS_PACKAGE_S3_ENDPOINT: httpUrl.optional(),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
  AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  AWS_SESSION_TOKEN: z.string().min(1).optional(),
  /** How long an access package can be downloaded; then it is deleted. */
  DSRFLOW_ACCESS_PACKAGE_EXPIRY: duration('7d').refine((ms) => ms >= 1000, { message: 'expected at least 1s' }),
  /** The API's public base URL, for download links; default: the URL the API was called with. */
  DSRFLOW_PUBLIC_URL: httpUrl.optional(),
  /**
   * The data stores connections may point at: comma-separated `host[:port][/database]` patterns,
   * `*` a wildcard (src/connectors/allow-list.ts). Unset: any store the worker can reach.
   */
  DSRFLOW_CONNECTION_ALLOW: allowList.optional(),
  /**
   * For tests and local stand-ins only: a SaaS config's `https` to a loopback host (127.0.0.1,
   * localhost, ::1) is sent as plain `http`. Other hosts always get the config's protocol.
   */
  DSRFLOW_SAAS_LOOPBACK_HTTP: z.enum(['true', 'false'], { error: 'expected true or false' }).default('false'),
  /** How long one SaaS request may take before it counts as a timeout (and is retried). */
  DSRFLOW_SAAS_REQUEST_TIMEOUT: duration('30s').refine((ms) => ms >= 100, { message: 'expected at least 100ms' }),
  /** How long a connection test waits for the data store; then it answers failed (timeout) and closes its sockets. */
  DSRFLOW_CONNECTION_TEST_TIMEOUT: duration('10s').refine((ms) => ms >= 100, { message: 'expected at least 100ms' }),
  /** How long one webhook delivery attempt may take (connect, send, answer); then it counts as failed and is retried. */
  DSRFLOW_WEBHOOK_TIMEOUT: duration('10s').refine((ms) => ms >= 100 && ms <= 300_000, { message: 'expected from 100ms to 5m' }),
  /** The longest wait between two attempts of a webhook delivery (they back off from 1s, doubling). */
  DSRFLOW_WEBHOOK_MAX_RETRY_INTERVAL: duration('60s').refine((ms) => ms >= 1000, { message: 'expected at least 1s' }),
  /** How long a webhook delivery is retried before it is given up (`failed`). */
  DSRFLOW_WEBHOOK_RETRY_FOR: duration('3d').refine((ms) => ms >= 1000, { message: 'expected at least 1s' }),
  /**
   * The hosts webhooks may be sent to: comma-separated `host[:port]` patterns, `*` a wildcard.
   * Unset: any http(s) host the worker reaches. A delivery to another host fails without retries.
   */
  DSRFLOW_WEBHOOK_ALLOW: allowList.refine((patterns) => patterns.every((pattern) => pattern.database === undefined), {
    message: 'expected host[:port] patterns (no /database part), such as hooks.example.com:443,*.corp.example',
  }).optional(),
  /** `npm start` loads the Fides example into this database and registers it as a connection. */
  DSRFLOW_EXAMPLE_DATABASE_URL: postgresUrl('postgres://postgres@127.0.0.1:5432/dsrflow_example'),
  /**
   * The root OAuth client, holding every scope: how the first token is obtained. Set both, or
   * neither (`npm start` generates a pair under DSRFLOW_DATA_DIR).
   */
  DSRFLOW_ROOT_CLIENT_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{3,64}$/, 'expected 3 to 64 letters, digits, dots, dashes or underscores')
    .optional(),
  DSRFLOW_ROOT_CLIENT_SECRET: z.string().min(32, 'expected at least 32 characters (for example: openssl rand -base64 32)').max(500).optional(),
  /** How long an access token works. */
  DSRFLOW_TOKEN_TTL: duration('1h').refine((ms) => ms >= 1000 && ms <= 86_400_000, { message: 'expected from 1s to 1d' }),
  /** Failed logins in a row that lock a user out, and for how long. */
  DSRFLOW_LOGIN_MAX_FAILURES: integer(5, 1, 1000),
  DSRFLOW_LOGIN_LOCKOUT: duration('15m'),
  /** Calls per minute to the token and login endpoints, per client address and per client or user. */
  DSRFLOW_AUTH_RATE_LIMIT: integer(20, 1, 1_000_000),
  /** The largest request body the API reads; larger ones get 413. */
  DSRFLOW_MAX_BODY_SIZE: size('1MiB', 1024, 64 * 1024 * 1024),
  /** Browser origins allowed to call the API (CORS), comma-separated; default none. */
  DSRFLOW_CORS_ORIGINS: z.string().optional(),
  /**
   * Host names the API answers to (the Host header), comma-separated, or `*` for any. Default:
   * localhost, 127.0.0.1, ::1, HOST, and the host of DSRFLOW_PUBLIC_URL. Stops DNS rebinding.
   */
  DSRFLOW_ALLOWED_HOSTS: z.string().optional(),
  /**
   * A key that lets the Temporal Web UI use the codec endpoint without a token, at
   * /codec/ui/<key>: the UI cannot send dsrflow's tokens. `npm start` generates one.
   */
  DSRFLOW_CODEC_UI_KEY: z
    .string()
    .regex(/^[A-Za-z0-9_-]{32,200}$/, 'expected 32 to 200 letters, digits, dashes or underscores (for example: openssl rand -hex 32)')
    .optional(),
  /**
   * The SMTP server messages to the data subject go through: smtp://user:password@host:587
   * (STARTTLS when the server offers it) or smtps://…:465 (TLS from the start). Unset: messages
   * are recorded as skipped, never sent. The password is never logged.
   */
  DSRFLOW_SMTP_URL: smtpUrl.optional(),
  /** The sender of messages to the data subject. */
  DSRFLOW_MESSAGE_FROM: mailbox.default('dsrflow <privacy@localhost>'),
  /** How long the SMTP client waits to connect, for the greeting, and for each answer; then it gives up (and retries). */
  DSRFLOW_SMTP_TIMEOUT: duration('30s').refine((ms) => ms >= 100, { message: 'expected at least 100ms' }),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  NODE_ENV: z.string().default('development'),
});

type Environment = z.output<typeof environmentSchema>;

export interface Config {
  databaseUrl: string;
  temporal: {
    /** Undefined means: start (or expect) the local dev server. */
    address: string | undefined;
    namespace: string;
    taskQueue: string;
    cliPath: string | undefined;
    devPort: number;
    uiPort: number;
    /** The Temporal Web UI's base URL (links from the console), or undefined when unknown. */
    uiUrl: string | undefined;
    /** How long the dev server may take to answer. */
    startTimeoutMs: number;
  };
  http: {
    host: string;
    port: number;
    maxBodyBytes: number;
    corsOrigins: string[];
    /** Host names the API answers to; '*' for any. */
    allowedHosts: string[] | '*';
  };
  auth: {
    rootClient: { id: string; secret: string } | undefined;
    tokenTtlMs: number;
    loginMaxFailures: number;
    loginLockoutMs: number;
    rateLimitPerMinute: number;
  };
  dataDir: string;
  encryptionKey: Buffer | undefined;
  identityTtlMs: number;
  /** How the worker runs requests; handed to each request with its plan, so replays see the same. */
  execution: Required<ExecutionSettings>;
  /** Duplicate detection at receipt (off by default, as in Fides). */
  duplicates: { enabled: boolean; windowMs: number };
  maxPageSize: number;
  maintenanceIntervalMs: number;
  /** DSRFLOW_WORKFLOW_BUNDLE: a prebuilt workflow bundle's path, or undefined to bundle at start. */
  workflowBundlePath: string | undefined;
  /** Undefined when the codec endpoint is off. */
  codecEndpoint: { origins: string[]; uiKey?: string | undefined } | undefined;
  exampleDatabaseUrl: string;
  connections: {
    /** Undefined: any target. */
    allow: AllowList | undefined;
    testTimeoutMs: number;
    /** DSRFLOW_SAAS_LOOPBACK_HTTP. */
    saasLoopbackHttp: boolean;
    saasRequestTimeoutMs: number;
  };
  accessPackages: {
    storage: StorageSettings;
    publicUrl: string | undefined;
  };
  /** Webhook deliveries: the deadline of one attempt, the retry schedule, and the hosts they may reach. */
  webhooks: {
    timeoutMs: number;
    maxRetryIntervalMs: number;
    retryForMs: number;
    /** Undefined: any host. */
    allow: AllowList | undefined;
  };
  /** Messages to the data subject (src/messages/). */
  messaging: {
    /** Undefined: no SMTP server configured, messages are recorded as skipped. */
    smtp: SmtpSettings | undefined;
    from: string;
  };
  logLevel: Environment['LOG_LEVEL'];
  production: boolean;
}

/** Where messages go, from DSRFLOW_SMTP_URL; `password` must never reach a log line. */
export interface SmtpSettings {
  host: string;
  port: number;
  /** smtps: TLS from the start; smtp: STARTTLS when the server offers it. */
  secure: boolean;
  user: string | undefined;
  password: string | undefined;
  /** Connection, greeting and socket timeout: every socket has a deadline. */
  timeoutMs: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads and validates the configuration; throws a ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty variables count as unset, as in most shells' `VAR= command`.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = environmentSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  if (production && !e.DSRFLOW_ENCRYPTION_KEY) {
    throw new ConfigError('Invalid configuration:\n  DSRFLOW_ENCRYPTION_KEY: required when NODE_ENV=production');
  }
  if ((e.DSRFLOW_ROOT_CLIENT_ID === undefined) !== (e.DSRFLOW_ROOT_CLIENT_SECRET === undefined)) {
    const missing = e.DSRFLOW_ROOT_CLIENT_ID === undefined ? 'DSRFLOW_ROOT_CLIENT_ID' : 'DSRFLOW_ROOT_CLIENT_SECRET';
    throw new ConfigError(`Invalid configuration:\n  ${missing}: set DSRFLOW_ROOT_CLIENT_ID and DSRFLOW_ROOT_CLIENT_SECRET together`);
  }
  const storage = storageSettings(e);
  const publicUrl = e.DSRFLOW_PUBLIC_URL?.replace(/\/+$/, '');
  return {
    databaseUrl: e.DATABASE_URL,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      cliPath: e.TEMPORAL_CLI_PATH,
      devPort: e.TEMPORAL_DEV_PORT,
      uiPort: e.TEMPORAL_UI_PORT,
      uiUrl: e.DSRFLOW_TEMPORAL_UI_URL?.replace(/\/+$/, '') ?? (e.TEMPORAL_ADDRESS ? undefined : `http://127.0.0.1:${e.TEMPORAL_UI_PORT}`),
      startTimeoutMs: e.DSRFLOW_TEMPORAL_START_TIMEOUT,
    },
    http: {
      host: e.HOST,
      port: e.PORT,
      maxBodyBytes: e.DSRFLOW_MAX_BODY_SIZE,
      corsOrigins: list(e.DSRFLOW_CORS_ORIGINS),
      allowedHosts: e.DSRFLOW_ALLOWED_HOSTS?.trim() === '*' ? '*' : allowedHosts(e, publicUrl),
    },
    auth: {
      rootClient: e.DSRFLOW_ROOT_CLIENT_ID && e.DSRFLOW_ROOT_CLIENT_SECRET ? { id: e.DSRFLOW_ROOT_CLIENT_ID, secret: e.DSRFLOW_ROOT_CLIENT_SECRET } : undefined,
      tokenTtlMs: e.DSRFLOW_TOKEN_TTL,
      loginMaxFailures: e.DSRFLOW_LOGIN_MAX_FAILURES,
      loginLockoutMs: e.DSRFLOW_LOGIN_LOCKOUT,
      rateLimitPerMinute: e.DSRFLOW_AUTH_RATE_LIMIT,
    },
    dataDir: e.DSRFLOW_DATA_DIR,
    encryptionKey: e.DSRFLOW_ENCRYPTION_KEY ? Buffer.from(e.DSRFLOW_ENCRYPTION_KEY, 'base64') : undefined,
    identityTtlMs: e.DSRFLOW_IDENTITY_TTL,
    execution: {
      startToCloseTimeoutMs: e.DSRFLOW_ACTIVITY_START_TO_CLOSE_TIMEOUT,
      heartbeatTimeoutMs: e.DSRFLOW_ACTIVITY_HEARTBEAT_TIMEOUT,
      maxAttempts: e.DSRFLOW_ACTIVITY_MAX_ATTEMPTS,
      initialRetryIntervalMs: e.DSRFLOW_ACTIVITY_INITIAL_RETRY_INTERVAL,
      collectionConcurrency: e.DSRFLOW_COLLECTION_CONCURRENCY,
      batchCollections: e.DSRFLOW_COLLECTION_BATCHES === 'true',
      requireApproval: e.DSRFLOW_REQUIRE_APPROVAL === 'true',
      manualDeadlineMs: e.DSRFLOW_MANUAL_DEADLINE,
      manualDeadlineAction: e.DSRFLOW_MANUAL_DEADLINE_ACTION,
      historyEventLimit: e.DSRFLOW_HISTORY_EVENT_LIMIT,
      accessPackageExpiryMs: e.DSRFLOW_ACCESS_PACKAGE_EXPIRY,
      webhookRetry: { maxIntervalMs: e.DSRFLOW_WEBHOOK_MAX_RETRY_INTERVAL, retryForMs: e.DSRFLOW_WEBHOOK_RETRY_FOR },
      deadlines: {
        timeZone: e.DSRFLOW_TIME_ZONE,
        reminderLeadsMs: e.DSRFLOW_DEADLINE_REMINDERS,
        periodOverrideMs: e.DSRFLOW_RESPONSE_PERIOD || null,
        extensionOverrideMs: e.DSRFLOW_EXTENSION_PERIOD || null,
      },
      verificationTtlMs: e.DSRFLOW_VERIFICATION_TTL,
    },
    duplicates: { enabled: e.DSRFLOW_DUPLICATE_DETECTION === 'true', windowMs: e.DSRFLOW_DUPLICATE_WINDOW },
    maxPageSize: e.DSRFLOW_MAX_PAGE_SIZE,
    maintenanceIntervalMs: e.DSRFLOW_MAINTENANCE_INTERVAL,
    workflowBundlePath: e.DSRFLOW_WORKFLOW_BUNDLE,
    codecEndpoint:
      (e.DSRFLOW_CODEC_ENDPOINT ?? (production ? 'false' : 'true')) === 'true'
        ? {
            origins: list(e.DSRFLOW_CODEC_CORS_ORIGINS ?? `http://127.0.0.1:${e.TEMPORAL_UI_PORT},http://localhost:${e.TEMPORAL_UI_PORT}`),
            uiKey: e.DSRFLOW_CODEC_UI_KEY,
          }
        : undefined,
    exampleDatabaseUrl: e.DSRFLOW_EXAMPLE_DATABASE_URL,
    connections: {
      allow: e.DSRFLOW_CONNECTION_ALLOW,
      testTimeoutMs: e.DSRFLOW_CONNECTION_TEST_TIMEOUT,
      saasLoopbackHttp: e.DSRFLOW_SAAS_LOOPBACK_HTTP === 'true',
      saasRequestTimeoutMs: e.DSRFLOW_SAAS_REQUEST_TIMEOUT,
    },
    accessPackages: { storage, publicUrl },
    webhooks: {
      timeoutMs: e.DSRFLOW_WEBHOOK_TIMEOUT,
      maxRetryIntervalMs: e.DSRFLOW_WEBHOOK_MAX_RETRY_INTERVAL,
      retryForMs: e.DSRFLOW_WEBHOOK_RETRY_FOR,
      allow: e.DSRFLOW_WEBHOOK_ALLOW,
    },
    messaging: { smtp: smtpSettings(e), from: e.DSRFLOW_MESSAGE_FROM.trim() },
    logLevel: e.LOG_LEVEL,
    production,
  };
}

/** The host names the API answers to: the configured list, or loopback, HOST and the public URL's host. */
function allowedHosts(e: Environment, publicUrl: string | undefined): string[] {
  const configured = list(e.DSRFLOW_ALLOWED_HOSTS);
  if (configured.length) return configured.map((host) => host.toLowerCase());
  const hosts = new Set(['localhost', '127.0.0.1', '[::1]']);
  if (!['0.0.0.0', '::', '[::]'].includes(e.HOST)) hosts.add(e.HOST.includes(':') && !e.HOST.startsWith('[') ? `[${e.HOST}]` : e.HOST.toLowerCase());
  if (publicUrl) hosts.add(new URL(publicUrl).hostname.toLowerCase());
  return [...hosts];
}

/** Where access packages go: a bucket (with its credentials) or a directory. */
function storageSettings(e: Environment): StorageSettings {
  const location = e.DSRFLOW_ACCESS_PACKAGE_STORAGE;
  if (location?.startsWith('s3://')) {
    const missing = (['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const).filter((name) => !e[name]);
    if (missing.length) {
      throw new ConfigError(`Invalid configuration:\n${missing.map((name) => `  ${name}: required when DSRFLOW_ACCESS_PACKAGE_STORAGE is an s3:// bucket`).join('\n')}`);
    }
    const [bucket, ...path] = location.slice('s3://'.length).split('/');
    const prefix = path.filter(Boolean).join('/');
    return {
      kind: 's3',
      bucket: bucket!,
      prefix: prefix ? `${prefix}/` : '',
      region: e.AWS_REGION,
      endpoint: e.DSRFLOW_ACCESS_PACKAGE_S3_ENDPOINT,
      credentials: { accessKeyId: e.AWS_ACCESS_KEY_ID!, secretAccessKey: e.AWS_SECRET_ACCESS_KEY!, sessionToken: e.AWS_SESSION_TOKEN },
    };
  }
  if (location?.startsWith('file:')) {
    try {
      return { kind: 'local', directory: fileURLToPath(location) };
    } catch {
      throw new ConfigError('Invalid configuration:\n  DSRFLOW_ACCESS_PACKAGE_STORAGE: expected a file:///absolute/path URL, a directory, or s3://bucket/prefix');
    }
  }
  return { kind: 'local', directory: location ?? join(e.DSRFLOW_DATA_DIR, 'access-packages') };
}

/** The SMTP server from DSRFLOW_SMTP_URL (user and password percent-decoded). */
function smtpSettings(e: Environment): SmtpSettings | undefined {
  if (!e.DSRFLOW_SMTP_URL) return undefined;
  const url = new URL(e.DSRFLOW_SMTP_URL);
  const secure = url.protocol === 'smtps:';
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    secure,
    user: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    timeoutMs: e.DSRFLOW_SMTP_TIMEOUT,
  };
}

/** The address clients use: the configured cluster, or the local dev server. */
export function temporalAddress(config: Config): string {
  return config.temporal.address ?? `127.0.0.1:${config.temporal.devPort}`;
}

/** Entry points call this: a bad configuration ends the process with the message, not a stack trace. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}
