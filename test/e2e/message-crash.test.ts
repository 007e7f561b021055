/**
 * A request's messages get their first attempt inside the bookkeeping's local activity
 * (docs/decisions.md, "What notices cost"). A worker SIGKILLed while the SMTP server holds the end
 * of the receipt's DATA must not send it twice: the next worker runs the step again, finds the
 * message claimed and not answered, and records it uncertain; the request completes and its
 * completion message goes once. Real Temporal, Postgres, worker processes and SMTP on loopback.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHarness, eventually, type Harness } from '../support/harness.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

/** Every message the server took in full, by its X-Dsrflow-Message-Type; the next one can be held before the answer. */
const received: string[] = [];
const accepted: string[] = [];
let hold: { received: () => void; release?: () => void } | undefined;
const smtp = new SMTPServer({
  disabledCommands: ['STARTTLS'],
  authOptional: true,
  logger: false,
  onData(stream, _session, callback) {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const type = /X-Dsrflow-Message-Type: (\w+)/i.exec(Buffer.concat(chunks).toString('utf8'))?.[1] ?? '?';
      received.push(type);
      const held = hold;
      if (held && type === 'receipt') {
        hold = undefined;
        held.release = () => {
          accepted.push(type);
          callback();
        };
        return held.received();
      }
      accepted.push(type);
      callback();
    });
  },
});

let harness: Harness;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  // A client that dies resets its connection; smtp-server emits that as an 'error', which unheard ends the process.
  smtp.on('error', () => undefined);
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  harness = await createHarness({ env: { DSRFLOW_SMTP_URL: `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`, DSRFLOW_SMTP_TIMEOUT: '20s' } });
});
afterAll(async () => {
  for (const worker of workers) await worker.kill();
  await harness?.close();
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
});

const startWorker = () => {
  const worker = startWorkerProcess(harness);
  workers.push(worker);
  return worker;
};

it('is not sent twice when the worker is killed while the server holds the receipt: recorded uncertain, the request completes', async () => {
  let heldAtServer!: () => void;
  const atServer = new Promise<void>((resolve) => (heldAtServer = resolve));
  const held: { received: () => void; release?: () => void } = { received: heldAtServer };
  hold = held;
  const first = startWorker();
  const id = await harness.submit({ policy_key: 'default_access_policy', identity: { email: 'customer-1@example.com' } });
  // The whole receipt is at the server, which has not answered (or the worker died first: say so).
  let waiting = true;
  await Promise.race([
    atServer,
    (async () => {
      while (waiting) {
        first.assertRunning();
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    })(),
  ]);
  waiting = false;
  expect(await harness.sql`select status from message where privacy_request_id = ${id} and message_type = 'receipt'`).toEqual([{ status: 'sending' }]);

  await first.kill();
  held.release!(); // the server takes it after all: it arrived, once
  expect(accepted).toEqual(['receipt']);

  // The next worker runs the bookkeeping step again: the claim without an answer is not sent again.
  startWorker();
  expect(await harness.result(id)).toEqual({ status: 'complete' });
  await eventually(async () => (accepted.includes('completion') ? true : undefined), { what: 'the completion message' });
  expect(received).toEqual(['receipt', 'completion']);
  expect(accepted).toEqual(['receipt', 'completion']);
  expect(await harness.sql`select message_type, status from message where privacy_request_id = ${id} order by message_type`).toEqual([
    { message_type: 'completion', status: 'sent' },
    { message_type: 'receipt', status: 'uncertain' },
  ]);
}, 150_000);
