/**
 * The chaos run in small (bench/chaos/driver.ts; `npm run chaos` is the full one, 200 requests):
 * 50 mixed requests (access, erasure confirmed by the driver, manual collections answered by it,
 * some refused once by a store and retried) while the worker is SIGKILLed once, the Temporal dev
 * server restarts once and dsrflow's Postgres is down for 8 s. The run brings its own Temporal
 * dev server (file-backed, to restart it) and its own Postgres cluster (to stop it), not the
 * suite's. Every check must hold: each request complete, each collection recorded once per phase,
 * exact access and erasure counts, no message or webhook sent twice, nothing left running.
 */
import { expect, inject, it } from 'vitest';
import { runChaos } from '../../bench/chaos/driver.js';

it('finishes 50 mixed requests exactly once through a worker kill, a Temporal restart and a Postgres outage', async () => {
  const report = await runChaos({
    requests: 50,
    workerKills: 1,
    temporalRestarts: 1,
    postgresOutages: 1,
    postgresOutageMs: 8_000,
    temporalDownMs: 2_000,
    // One fault soon after another (the suite's time is short): each still finds requests in flight.
    faultSpacingMs: 3_000,
    faultSpread: 0.3,
    // Bounded: past this the run reports what is unfinished and tears down, it does not hang.
    timeoutMs: 200_000,
    // The suite's bundle, built from this code at the start of the run (test/global-setup.ts).
    workflowBundle: inject('workflowBundlePath'),
    log: (line) => console.log(line),
  });
  expect(report.faults.map((fault) => fault.kind)).toEqual(['worker_kill', 'temporal_restart', 'postgres_outage']);
  for (const check of report.checks) expect(check.violations, check.check).toEqual([]);
  expect(report.violations).toEqual([]);
  expect(report.checks.length).toBeGreaterThan(0);
}, 280_000);
