/**
 * `npm run chaos`: the chaos run (bench/chaos/driver.ts) with its report printed and written into
 * BENCHMARKS.md, in the section between `<!-- bench:chaos:start -->` and `<!-- bench:chaos:end -->`
 * (the mechanism of bench/run.ts: the file is read again right before the section is replaced).
 * Exits 1 when anything that must hold did not.
 *
 *   npm run chaos                                    # 200 requests, 3 worker kills, 1 Temporal restart, Postgres down 30 s
 *   npm run chaos -- --requests=50 --kills=1 --outage=10s --no-report
 *
 * Flags, or the environment: --requests (CHAOS_REQUESTS), --kills (CHAOS_WORKER_KILLS),
 * --temporal-restarts (CHAOS_TEMPORAL_RESTARTS), --postgres-outages (CHAOS_POSTGRES_OUTAGES),
 * --outage (CHAOS_POSTGRES_OUTAGE, a duration), --timeout (CHAOS_TIMEOUT, the whole run),
 * --no-report (CHAOS_NO_REPORT=1: BENCHMARKS.md is left alone).
 */
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseDuration } from '../../src/config.js';
import { section, withSection, type BenchmarkResult } from '../run.js';
import { DEFAULT_OPTIONS, runChaos, type ChaosOptions, type ChaosReport } from './driver.js';

const REPORT = fileURLToPath(new URL('../../BENCHMARKS.md', import.meta.url));

function parseOptions(argv: string[], env: NodeJS.ProcessEnv): { options: ChaosOptions; report: boolean } {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match) throw new Error(`Unknown argument ${arg}`);
    flags.set(match[1]!, match[2] ?? 'true');
  }
  const known = ['requests', 'kills', 'temporal-restarts', 'postgres-outages', 'outage', 'timeout', 'no-report'];
  for (const flag of flags.keys()) if (!known.includes(flag)) throw new Error(`Unknown flag --${flag} (known: ${known.map((name) => `--${name}`).join(', ')})`);
  const value = (flag: string, variable: string) => flags.get(flag) ?? env[variable];
  const count = (flag: string, variable: string, fallback: number, min: number, max: number) => {
    const text = value(flag, variable);
    if (text === undefined) return fallback;
    const parsed = Number(text);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) throw new Error(`--${flag} (${variable}) must be a whole number from ${min} to ${max}, not ${text}`);
    return parsed;
  };
  const duration = (flag: string, variable: string, fallback: number) => {
    const text = value(flag, variable);
    if (text === undefined) return fallback;
    const parsed = parseDuration(text);
    if (parsed === undefined) throw new Error(`--${flag} (${variable}) must be a duration such as 30s or 15m, not ${text}`);
    return parsed;
  };
  return {
    options: {
      ...DEFAULT_OPTIONS,
      requests: count('requests', 'CHAOS_REQUESTS', DEFAULT_OPTIONS.requests, 1, 2000),
      workerKills: count('kills', 'CHAOS_WORKER_KILLS', DEFAULT_OPTIONS.workerKills, 0, 20),
      temporalRestarts: count('temporal-restarts', 'CHAOS_TEMPORAL_RESTARTS', DEFAULT_OPTIONS.temporalRestarts, 0, 10),
      postgresOutages: count('postgres-outages', 'CHAOS_POSTGRES_OUTAGES', DEFAULT_OPTIONS.postgresOutages, 0, 10),
      postgresOutageMs: duration('outage', 'CHAOS_POSTGRES_OUTAGE', DEFAULT_OPTIONS.postgresOutageMs),
      timeoutMs: duration('timeout', 'CHAOS_TIMEOUT', DEFAULT_OPTIONS.timeoutMs),
    },
    report: !(flags.has('no-report') || env.CHAOS_NO_REPORT === '1'),
  };
}

async function machine(): Promise<string> {
  let cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(await readFile('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpu;
  } catch {
    // Not Linux.
  }
  const memory = `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`;
  return `${cpu}, ${os.availableParallelism()} cores, ${memory} memory; Node ${process.version}; ${os.type()} ${os.release()}; load average ${os.loadavg()[0]!.toFixed(2)} at the start`;
}

const seconds = (value: number) => value.toFixed(1);

/** The report as a benchmark section: the checks as the table, the faults and timings as notes. */
export function asBenchmark(report: ChaosReport): BenchmarkResult {
  const o = report.options;
  const faults = [
    '| # | fault | at (s) | requests unfinished | away (s) | what happened |',
    '| ---: | --- | ---: | ---: | ---: | --- |',
    ...report.faults.map((fault, i) => `| ${i + 1} | ${fault.kind.replace('_', ' ')} | ${seconds(fault.at)} | ${fault.unfinished} | ${seconds(fault.downSeconds)} | ${fault.detail} |`),
  ].join('\n');
  const labels: Record<string, string> = { access: 'access', access_manual: 'access with a manual row', erasure: 'erasure', erasure_manual: 'erasure with a manual row' };
  const kinds = Object.entries(report.kinds).map(([kind, count]) => `${count} ${labels[kind] ?? kind}`).join(', ');
  const actions = Object.entries(report.driver.actions).map(([name, count]) => `${count} ${name}`).join(', ') || 'none';
  const failures = Object.entries(report.driver.apiFailuresByKind).map(([kind, count]) => `${count} ${kind}`).join(', ') || 'none';
  return {
    title: `Chaos: ${o.requests} mixed requests through ${o.workerKills} worker SIGKILLs, ${o.temporalRestarts} Temporal restart${o.temporalRestarts === 1 ? '' : 's'} and dsrflow's Postgres down ${Math.round(o.postgresOutageMs / 1000)} s`,
    rows: report.checks.map((check) => ({ check: check.check, expected: check.expected, observed: check.observed, result: check.violations.length ? `FAILED (${check.violations.length})` : 'holds' })),
    notes: [
      `Result: ${report.passed ? 'every check holds' : `${report.violations.length} violations`}. ${report.timings.total.toFixed(0)} s in all: setup ${seconds(report.timings.setup)} s, submission to the last request finished ${seconds(report.timings.requests)} s, deliveries settled ${seconds(report.timings.settle)} s.`,
      `Requests: ${kinds}; ${report.flaky} of them (every fifth) refused once by a store (permission, not retried by dsrflow), so they go to \`error\` and the driver retries them. Every request also waits at a manual collection, which the driver answers (no rows, or one row that erasure then asks to be masked by hand). Erasure requests wait for confirmation, which the driver sends. The driver holds back its answers to the last fifth of the requests until every fault has happened, so that each fault finds requests in flight; the faults are spread over the first 80% of the other requests' progress. SMTP and a webhook subscription to every event type are on.`,
      faults,
      `Worker processes started: ${report.workers.started} (polling after ${report.workers.startupSeconds.map(seconds).join(', ')} s); exited on their own: ${report.workers.unexpectedExits}. The driver's API calls: ${actions}; calls the API could not answer (retried): ${report.driver.apiFailures} (${failures}).`,
      ...report.notes,
      ...(report.violations.length ? ['Violations:', report.violations.slice(0, 30).map((violation) => `- ${violation}`).join('\n')] : []),
      "Setup: dsrflow's database in a private cluster made with initdb and run with pg_ctl on its own loopback port (the outage is `pg_ctl stop -m fast`, then start); a Temporal dev server of the run's own with a SQLite file (stopped with SIGTERM, started again on the same port and file); the Fides example target, plus one customer per request, in a fresh database on the machine's Postgres; the API in the driver's process; workers as processes running `src/cli/worker.ts` of a copy of the code, with one workflow bundle built at the start (DSRFLOW_WORKFLOW_BUNDLE); an SMTP server (smtp-server) and a webhook receiver in the driver's process counting each Message-ID and webhook-id. Activities: heartbeat timeout 5 s, the default 5 attempts from 1 s doubling (an outage of dsrflow's own database is waited out inside each step, not spent on attempts). See docs/chaos.md.",
    ],
    passed: report.passed,
  };
}

export function printReport(report: ChaosReport, print: (line: string) => void = console.log): void {
  print('');
  for (const check of report.checks) print(`${check.violations.length ? 'FAIL' : 'ok  '} ${check.check}: ${check.observed} (expected ${check.expected})`);
  for (const fault of report.faults) print(`fault ${fault.kind} at ${seconds(fault.at)} s, ${fault.unfinished} unfinished, away ${seconds(fault.downSeconds)} s: ${fault.detail}`);
  for (const note of report.notes) print(note);
  print(`timings: setup ${seconds(report.timings.setup)} s, requests ${seconds(report.timings.requests)} s, settle ${seconds(report.timings.settle)} s, total ${seconds(report.timings.total)} s`);
  if (report.violations.length) {
    print(`\n${report.violations.length} violations:`);
    for (const violation of report.violations.slice(0, 50)) print(`  - ${violation}`);
  } else {
    print('\nEvery check holds.');
  }
}

async function main() {
  const { options, report: writeReport } = parseOptions(process.argv.slice(2), process.env);
  const context = { command: `npm run chaos${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`, machine: await machine(), date: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
  // Ctrl-C (or SIGTERM) ends the run early and still removes what it set up; a second one exits at once.
  const controller = new AbortController();
  const interrupt = () => {
    if (controller.signal.aborted) process.exit(130);
    console.log('\nInterrupted: removing what the run set up (again to exit at once)…');
    controller.abort();
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  const report = await runChaos({ ...options, signal: controller.signal });
  printReport(report);
  if (writeReport) {
    const text = section('chaos', asBenchmark(report), context);
    // Read right before writing: other benchmarks may have rewritten the file meanwhile.
    const current = await readFile(REPORT, 'utf8');
    await writeFile(REPORT, withSection(current, 'chaos', text));
    console.log(`Report written to ${REPORT}`);
  }
  // Exit even if a socket of a stopped component lingers: the run is over.
  process.exit(report.passed ? 0 : 1);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
