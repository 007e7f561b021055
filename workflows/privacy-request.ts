/**
 * One workflow per privacy request (workflow id = request id): a shell around the lifecycle
 * machine (src/domain/lifecycle.ts), which holds every rule. The shell turns signals, updates,
 * activity results and timers into events, carries out the commands the machine answers, and
 * hands the whole state to the next run when the history grows long.
 *
 * Deterministic orchestration only: reads and writes happen in activities, and history carries
 * ids, collection keys and counts (payloads are encrypted by the codec anyway).
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  log,
  ParentClosePolicy,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { Activities } from '../activities/index.js';
import type { ActionName } from '../src/domain/actions.js';
import { initialState, isQuiet, step, type ExecutionSettings, type LifecycleCommand, type LifecycleEvent, type StepResult } from '../src/domain/lifecycle.js';
import type { BookkeepingEntry } from '../src/execution/bookkeeping.js';
import type { MessageToSend, NoticesAttempt } from '../src/execution/notices.js';
import { writeAccessPackage } from './access-package.js';
import { describeFailure } from './activity-failures.js';
import { webhookDelivery, webhookDeliveryWorkflowId } from './webhook-delivery.js';
import { FAILURE_TYPES, SEARCH_ATTRIBUTES, signals, updates, type ActionResult, type PrivacyRequestInput, type PrivacyRequestOutcome } from './definitions.js';

/** Bookkeeping writes to Postgres: retried until the database answers. */
// The heartbeat timeout lets Temporal retry a step whose worker died after 10 s instead of at
// the minute's end (the full chaos run waited a minute on a manual step's opening); the steps
// heartbeat every third of it (activities/index.ts).
const BOOKKEEPING = { startToCloseTimeout: '1 minute', heartbeatTimeout: '10 seconds', retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' } } as const;
const bookkeeping = proxyActivities<Activities>(BOOKKEEPING);

/**
 * The lifecycle's own bookkeeping (status, audit, task rows): short writes to dsrflow's database,
 * run as local activities, so each batch costs one marker in the history instead of a scheduled
 * activity and a workflow task of its own. Retried until the database answers.
 */
const records = proxyLocalActivities<Activities>({
  startToCloseTimeout: '1 minute',
  localRetryThreshold: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * Messages to the data subject: retried for a while (an SMTP server that is down for an hour
 * still gets the message); a permanent refusal (5xx) is not retried. Never fails the request.
 */
const messaging = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 30 },
});

/**
 * How long the first attempt of a batch's notices may take (since 'notices-batched': in the
 * bookkeeping's local activity): a webhook receiver's answer, an SMTP server's connection and
 * greeting. Slower ones are retried durably, with DSRFLOW_WEBHOOK_TIMEOUT and DSRFLOW_SMTP_TIMEOUT.
 */
const NOTICE_BUDGET_MS = 2_000;

/** A batch of webhook deliveries' first attempt (before 'notices-batched'): once; what fails is retried by delivery workflows. */
const firstAttempt = proxyActivities<Activities>({ startToCloseTimeout: '6 minutes', heartbeatTimeout: '30 seconds', retry: { maximumAttempts: 1 } });

/** The plan step: bounded, because a request whose row never committed must not wait forever. */
const PLAN_RETRY = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 } as const;
const planning = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry: PLAN_RETRY });
/** Since 'lean-requests': the same step as a local activity (one marker, no task of its own). */
const planningHere = proxyLocalActivities<Activities>({ startToCloseTimeout: '1 minute', localRetryThreshold: '10 seconds', retry: PLAN_RETRY });

/** The longest wait between two attempts of a collection step. */
const MAX_RETRY_INTERVAL_MS = 5 * 60_000;

/** The wait before attempt `attempt + 1` of a collection step: doubling from the initial interval. */
const retryWaitMs = (settings: ExecutionSettings, attempt: number) => Math.min(settings.initialRetryIntervalMs * 2 ** (attempt - 1), MAX_RETRY_INTERVAL_MS);

/**
 * A collection's steps, named after the collection in the Temporal UI's timeline. After
 * `attemptsBefore` attempts (in a batch), the retries go on where they left off: the same
 * backoff schedule and the same number of attempts in all.
 */
const collectionSteps = (settings: ExecutionSettings, summary: string, attemptsBefore = 0) =>
  proxyActivities<Activities>({
    startToCloseTimeout: settings.startToCloseTimeoutMs,
    heartbeatTimeout: settings.heartbeatTimeoutMs,
    retry: { initialInterval: retryWaitMs(settings, attemptsBefore + 1), backoffCoefficient: 2, maximumInterval: MAX_RETRY_INTERVAL_MS, maximumAttempts: settings.maxAttempts - attemptsBefore },
    summary,
  });

export async function privacyRequest(input: PrivacyRequestInput): Promise<PrivacyRequestOutcome> {
  const { privacyRequestId } = input;
  const now = () => new Date().toISOString(); // workflow time: the same on replay
  let state = input.state ?? initialState(privacyRequestId, input.deadline);
  /** Bookkeeping asked for and not written yet; how many were asked for and written so far. */
  const pending: BookkeepingEntry[] = [];
  let queued = 0;
  let recorded = 0;
  /** Activities running; timers by name. */
  let inFlight = 0;
  const timers = new Map<string, CancellationScope>();
  /** Per accepted action: how much bookkeeping must be written before its caller hears back. */
  const settled = new Map<number, number>();
  let outcome: PrivacyRequestOutcome['status'] | undefined;
  /** Work nobody waits for (messages, webhook deliveries starting): finished before the run ends or hands over. */
  let sideEffects = 0;
  // Since 'lean-requests' (issue 14; docs/decisions.md, "What a request costs in Temporal"): one
  // patch marker stands for the two before it (each costs a marker and a search-attribute
  // upsert), the plan is a local activity, the access package's expiry is left to the workers'
  // sweep instead of a child workflow per request, and the timer is armed once per step.
  const lean = patched('lean-requests');
  // Requests that started before notices existed replay without them (docs/decisions.md).
  const notices = lean || patched('deadlines-notices');
  // Since 'notices-batched' (docs/decisions.md, "What notices cost"): a batch's notices (webhooks
  // and messages) get their first attempt in the bookkeeping's local activity, search attributes
  // are set once per step, and the request's timers share one Temporal timer. Requests that
  // started before keep the earlier shape.
  const batched = lean || (notices && patched('notices-batched'));
  /** Search attributes set while a step is carried out: one upsert at its end. */
  const attributes = new Map<string, SearchAttributeUpdatePair>();
  const setAttributes = (updates: SearchAttributeUpdatePair[]) => {
    if (!batched) return upsertSearchAttributes(updates);
    for (const update of updates) attributes.set(update.key.name, update);
  };
  let dueAtShown: string | null = null;
  const showDueAt = (dueAt: string | null | undefined) => {
    if (!notices || !dueAt || dueAt === dueAtShown) return;
    dueAtShown = dueAt;
    setAttributes([{ key: SEARCH_ATTRIBUTES.dueAt, value: new Date(dueAt) }]);
  };
  /** Messages asked for and not sent yet (batched): they go after the bookkeeping written with them. */
  const outgoing: MessageToSend[] = [];
  const alongside = (work: () => Promise<unknown>, what: string) => {
    sideEffects += 1;
    void work()
      .catch((error: unknown) => log.warn(`${what} failed`, { privacyRequestId, message: describeFailure(error).message }))
      .finally(() => (sideEffects -= 1));
  };
  /**
   * Webhook deliveries: the first attempt of a batch here, side by side (most receivers answer at
   * once); each that failed gets a delivery workflow of its own that retries with backoff.
   */
  const retryDeliveries = (deliveryIds: string[]) => {
    const retry = state.plan?.settings.webhookRetry;
    return Promise.all(
      deliveryIds.map((deliveryId) =>
        startChild(webhookDelivery, {
          workflowId: webhookDeliveryWorkflowId(deliveryId),
          args: [{ deliveryId, ...(retry ? { maxRetryIntervalMs: retry.maxIntervalMs, retryForMs: retry.retryForMs } : {}) }],
          // The delivery outlives the request: a receiver that is down still gets the request's last events.
          parentClosePolicy: ParentClosePolicy.ABANDON,
        }),
      ),
    );
  };
  const sendMessage = (message: MessageToSend) =>
    alongside(() => messaging.messageDataSubject({ privacyRequestId, ...message }), `Message ${message.type}`);
  const startDeliveries = (deliveryIds: string[]) => {
    if (!notices || deliveryIds.length === 0) return;
    alongside(async () => {
      const pending = await firstAttempt.deliverWebhooksNow({ deliveryIds }).then(
        (result) => result.retry,
        () => deliveryIds, // the attempt itself failed (a worker lost): the delivery workflows try again
      );
      await retryDeliveries(pending);
    }, 'Delivering webhooks');
  };
  /** What the first attempt of a batch's notices left (batched): retried durably, each on its own. */
  const retryNotices = (attempt: NoticesAttempt, messages: MessageToSend[]) => {
    for (const message of messages) if (attempt.messageKeys.includes(message.idempotencyKey)) sendMessage(message);
    if (attempt.deliveryIds.length > 0) alongside(() => retryDeliveries(attempt.deliveryIds), 'Delivering webhooks');
  };
  let handingOver = false;
  const historyIsLong = () =>
    !state.draining && state.stage !== 'finished' && (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > (state.plan?.settings.historyEventLimit ?? 10_000));

  const dispatch = (event: LifecycleEvent): StepResult => {
    // Told before anything else happens, so that a long history starts nothing new.
    if (event.type !== 'historyLimitReached' && historyIsLong()) dispatch({ type: 'historyLimitReached', at: now() });
    const result = step(state, event);
    state = result.state;
    for (const command of result.commands) carryOut(command);
    if (holding === 0) startBatches();
    // The timer is armed once the step's commands are all carried out: a step that starts three
    // timers arms one, instead of a timer and a cancellation scope per command.
    if (wheelChanged && lean) {
      wheelChanged = false;
      arm();
    }
    for (const ack of result.resolved) settled.set(ack, queued);
    if (attributes.size > 0) {
      upsertSearchAttributes([...attributes.values()]);
      attributes.clear();
    }
    return result;
  };

  /**
   * The request's timers (batched): named timers of the machine, on one Temporal timer armed for
   * the earliest. Starting or cancelling a later one costs no history event.
   */
  const wheel = new Map<string, number>();
  let wheelChanged = false;
  let armed: { at: number; scope: CancellationScope } | undefined;
  let firing = false;
  const arm = () => {
    if (firing) return; // armed once the due timers are told
    const next = wheel.size === 0 ? undefined : Math.min(...wheel.values());
    if (armed && armed.at === next) return;
    armed?.scope.cancel();
    armed = undefined;
    if (next === undefined) return;
    const scope = new CancellationScope();
    armed = { at: next, scope };
    void scope.run(() => sleep(Math.max(0, next - Date.now()))).then(
      () => {
        if (armed?.scope !== scope) return;
        armed = undefined;
        // Earliest first; a timer that an earlier one's step cancelled does not fire.
        firing = true;
        for (;;) {
          let first: [string, number] | undefined;
          for (const entry of wheel) if (entry[1] <= Date.now() && (!first || entry[1] < first[1])) first = entry;
          if (!first) break;
          wheel.delete(first[0]);
          dispatch({ type: 'timerFired', at: now(), timer: first[0] });
        }
        firing = false;
        arm();
      },
      (error: unknown) => {
        if (!isCancellation(error)) throw error;
      },
    );
  };

  /** Work alongside other work: its result comes back as an event. */
  const run = (work: () => Promise<LifecycleEvent>) => {
    inFlight += 1;
    void work()
      .then(dispatch)
      .finally(() => (inFlight -= 1));
  };

  const failed = (phase: 'access' | 'erasure', collection: string, runNumber: number) => (error: unknown): LifecycleEvent => {
    const { message, category, type } = describeFailure(error);
    log.warn('Collection failed', { privacyRequestId, collection, phase, type, category });
    return { type: 'collectionFailed', at: now(), phase, collection, run: runNumber, message, category };
  };

  /** One collection in an activity of its own (before batches; and a batched collection's retries). */
  const runAlone = (phase: 'access' | 'erasure', collection: string, runNumber: number, attemptsBefore = 0) => {
    const steps = collectionSteps(state.plan!.settings, `${phase} ${collection}${attemptsBefore ? ` (attempt ${attemptsBefore + 1} on)` : ''}`, attemptsBefore);
    const input = { privacyRequestId, collection, run: runNumber, ...(attemptsBefore ? { attemptsBefore } : {}) };
    const done = phase === 'access' ? steps.accessCollection(input).then(({ rowCount }) => ({ rowCount, skipped: null, warning: null })) : steps.eraseCollection(input);
    return run(() => done.then((result): LifecycleEvent => ({ type: 'collectionSucceeded', at: now(), phase, collection, run: runNumber, ...result }), failed(phase, collection, runNumber)));
  };

  /**
   * Collections the machine started in one step (since settings.batchCollections): one activity
   * per phase and connection, each collection still its own step (docs/decisions.md, "Collections
   * in batches"). A collection that failed is retried on its own; the others go on.
   */
  const toStart: { phase: 'access' | 'erasure'; connectionKey: string; collection: string; run: number }[] = [];
  /** Above 0 while a batch's outcomes are told: the collections they start form one batch. */
  let holding = 0;
  const tellingTogether = (tell: () => void) => {
    holding += 1;
    try {
      tell();
    } finally {
      holding -= 1;
    }
    startBatches();
  };
  const startBatches = () => {
    if (toStart.length === 0) return;
    const groups = new Map<string, typeof toStart>();
    for (const entry of toStart.splice(0)) {
      const key = `${entry.phase}|${entry.connectionKey}`;
      const group = groups.get(key);
      if (group) group.push(entry);
      else groups.set(key, [entry]);
    }
    for (const group of groups.values()) runBatch(group[0]!.phase, group.map(({ collection, run }) => ({ collection, run })));
  };
  const runBatch = (phase: 'access' | 'erasure', batch: { collection: string; run: number }[]) => {
    const settings = state.plan!.settings;
    const names = batch.map(({ collection }) => collection.slice(collection.indexOf(':') + 1));
    const steps = collectionSteps(settings, `${phase} ${names.length > 6 ? `${names.slice(0, 6).join(', ')} and ${names.length - 6} more` : names.join(', ')}`);
    inFlight += 1;
    void steps
      .runCollections({ privacyRequestId, phase, steps: batch })
      .then(
        (outcomes) =>
          tellingTogether(() => {
            for (const outcome of outcomes) {
              const { collection, run: runNumber } = outcome;
              if (outcome.ok) {
                dispatch({ type: 'collectionSucceeded', at: now(), phase, collection, run: runNumber, rowCount: outcome.rowCount, skipped: outcome.skipped, warning: outcome.warning });
              } else if (outcome.retryable && outcome.attempt < settings.maxAttempts) {
                retryAlone(phase, collection, runNumber, outcome.attempt, outcome.retryAfterMs);
              } else {
                log.warn('Collection failed', { privacyRequestId, collection, phase, type: outcome.type, category: outcome.category });
                dispatch({ type: 'collectionFailed', at: now(), phase, collection, run: runNumber, message: outcome.message, category: outcome.category });
              }
            }
          }),
        // The batch itself failed its attempts (not a collection's own failure): each of its collections failed with it.
        (error: unknown) => tellingTogether(() => batch.forEach(({ collection, run: runNumber }) => dispatch(failed(phase, collection, runNumber)(error)))),
      )
      .finally(() => (inFlight -= 1));
  };
  /** A batched collection that failed: after the backoff its next attempt would have waited, retried alone. */
  const retryAlone = (phase: 'access' | 'erasure', collection: string, runNumber: number, attemptsBefore: number, retryAfterMs: number | null) => {
    inFlight += 1;
    void sleep(retryAfterMs ?? retryWaitMs(state.plan!.settings, attemptsBefore))
      .then(() => runAlone(phase, collection, runNumber, attemptsBefore))
      .finally(() => (inFlight -= 1));
  };

  function carryOut(command: LifecycleCommand): void {
    const settings = state.plan?.settings;
    switch (command.type) {
      case 'record':
      case 'recordTask':
      case 'recordTasks':
      case 'recordCollectionError':
      case 'manualDeadlinePassed':
      case 'notify':
        pending.push(command);
        queued += 1;
        if (command.type === 'record' && command.transition) setAttributes([{ key: SEARCH_ATTRIBUTES.status, value: command.transition.status }]);
        if (command.type === 'notify') {
          log.info(`Privacy request ${command.event.replace('_', ' ')}`, { privacyRequestId, event: command.event, status: command.data.status, dueAt: command.data.due_at });
          showDueAt(command.data.due_at as string | null);
        }
        return;
      case 'sendMessage': {
        if (!notices) return;
        const message = { type: command.message, idempotencyKey: `${privacyRequestId}:${command.key}`, variables: command.variables };
        if (batched) outgoing.push(message);
        else sendMessage(message);
        return;
      }
      case 'issueVerificationCode':
        if (!notices) return;
        return alongside(() => messaging.issueVerificationCode({ privacyRequestId, issue: command.issue, expiresAt: command.expiresAt }), 'Issuing a verification code');
      case 'searchAttributes':
        setAttributes([
          { key: SEARCH_ATTRIBUTES.policyKey, value: command.policyKey },
          { key: SEARCH_ATTRIBUTES.actionTypes, value: command.actionTypes },
        ]);
        showDueAt(command.dueAt);
        return;
      case 'plan':
        return run(() =>
          (lean ? planningHere : planning).planPrivacyRequest({ privacyRequestId }).then(
            (plan): LifecycleEvent => ({ type: 'planned', at: now(), plan }),
            (error): LifecycleEvent => {
              const { type, message } = describeFailure(error);
              return { type: 'planFailed', at: now(), message, notFound: type === FAILURE_TYPES.notFound };
            },
          ),
        );
      case 'runCollection': {
        const { phase, collection, run: runNumber } = command;
        if (settings!.batchCollections) {
          // Started with the others of its connection once the step's commands are carried out.
          const connectionKey = state.plan!.collections.find((candidate) => candidate.key === collection)!.connectionKey;
          toStart.push({ phase, connectionKey, collection, run: runNumber });
          return;
        }
        return runAlone(phase, collection, runNumber);
      }
      case 'openManualStep': {
        const { phase, collection, run: runNumber, deadlineMs } = command;
        const opened = proxyActivities<Activities>({ ...BOOKKEEPING, summary: `${phase} ${collection} (manual)` }).openManualStep({ privacyRequestId, collection, phase, run: runNumber, deadlineMs, now: now() });
        return run(() => opened.then((result): LifecycleEvent => ({ type: 'manualOpened', at: now(), phase, collection, run: runNumber, ...result }), failed(phase, collection, runNumber)));
      }
      case 'storeManualAnswer': {
        const { collection, run: runNumber, answer } = command;
        const steps = collectionSteps(settings!, `${answer.phase} ${collection} (manual answer)`);
        const stored =
          answer.phase === 'access'
            ? steps.storeManualRows({ privacyRequestId, collection, run: runNumber, rows: answer.rows, userId: answer.userId })
            : steps.confirmManualErasure({ privacyRequestId, collection, run: runNumber, rowCount: answer.rowCount, userId: answer.userId });
        return run(() => stored.then((): LifecycleEvent => ({ type: 'manualAnswerStored', at: now(), phase: answer.phase, collection, run: runNumber }), failed(answer.phase, collection, runNumber)));
      }
      case 'startTimer': {
        if (batched) {
          wheel.set(command.timer, Date.now() + command.ms);
          if (!lean) return arm(); // before 'lean-requests', armed per command
          wheelChanged = true;
          return;
        }
        const scope = new CancellationScope();
        timers.set(command.timer, scope);
        void scope.run(() => sleep(command.ms)).then(
          () => {
            timers.delete(command.timer);
            dispatch({ type: 'timerFired', at: now(), timer: command.timer });
          },
          (error: unknown) => {
            if (!isCancellation(error)) throw error;
          },
        );
        return;
      }
      case 'cancelTimer':
        if (batched) {
          wheel.delete(command.timer);
          if (!lean) return arm();
          wheelChanged = true;
          return;
        }
        timers.get(command.timer)?.cancel();
        timers.delete(command.timer);
        return;
      case 'propagateConsent':
        return run(() =>
          collectionSteps(settings!, `consent ${command.preference}`)
            .propagateConsent({ privacyRequestId, preference: command.preference })
            .then(
              (results): LifecycleEvent => ({ type: 'consentPropagated', at: now(), results }),
              (error): LifecycleEvent => ({ type: 'consentFailed', at: now(), message: describeFailure(error).message }),
            ),
        );
      case 'previewErasure':
        return run(() => bookkeeping.previewErasure({ privacyRequestId }).then((): LifecycleEvent => ({ type: 'erasurePreviewed', at: now() })));
      case 'preparePackage':
        return run(() =>
          writeAccessPackage(collectionSteps(settings!, 'access package'), bookkeeping, { privacyRequestId, expiresInMs: command.expiresInMs, expiry: lean ? 'swept' : 'child' }).then((): LifecycleEvent => ({ type: 'packagePrepared', at: now() })),
        );
      case 'continueAsNew':
        return; // the main loop hands over once nothing is in flight
      case 'finish':
        outcome = command.outcome;
        return;
    }
  }

  // ---- Actions: signals (external systems) and updates (the API), validated by the machine -------
  dispatch({ type: 'started', at: now() });
  for (const action of Object.keys(signals) as ActionName[]) {
    setHandler(signals[action], (payload: unknown) => void dispatch({ type: 'action', at: now(), action, payload }));
    setHandler(updates[action], async (payload: unknown): Promise<ActionResult> => {
      const { verdict } = dispatch({ type: 'action', at: now(), action, payload });
      if (!verdict?.accepted) {
        throw ApplicationFailure.create({ type: FAILURE_TYPES.rejected, message: verdict?.accepted === false ? verdict.reason : `${action} refused`, nonRetryable: true });
      }
      // Answers once the effect is recorded, or handed over to the next run (which records it).
      await condition(() => handingOver || (settled.has(verdict.ack) && recorded >= settled.get(verdict.ack)!));
      return { status: state.status };
    });
  }

  // ---- The main loop: write the bookkeeping, watch the history, finish or hand over -------------
  const readyToHandOver = () =>
    state.draining && outcome === undefined && isQuiet(state) && inFlight === 0 && sideEffects === 0 && pending.length === 0 && outgoing.length === 0;

  for (;;) {
    await condition(() => pending.length > 0 || outgoing.length > 0 || outcome !== undefined || historyIsLong() || readyToHandOver());
    if (pending.length > 0 || outgoing.length > 0) {
      const entries = pending.splice(0);
      const messages = outgoing.splice(0);
      if (batched) {
        // Written, then its notices tried once (within a budget) in the same local activity.
        const attempt = await records.recordBatch({ privacyRequestId, entries, messages, budgetMs: NOTICE_BUDGET_MS });
        recorded += entries.length;
        retryNotices(attempt, messages);
      } else {
        const written = await records.recordBookkeeping({ privacyRequestId, entries });
        recorded += entries.length;
        startDeliveries(written?.deliveries ?? []);
      }
    } else if (outcome !== undefined) {
      await condition(() => (allHandlersFinished() && sideEffects === 0) || pending.length > 0 || outgoing.length > 0);
      if (pending.length === 0 && outgoing.length === 0) return { status: outcome };
    } else if (historyIsLong()) {
      dispatch({ type: 'historyLimitReached', at: now() });
    } else {
      handingOver = true;
      await condition(allHandlersFinished);
      if (readyToHandOver()) {
        log.info('Continuing as new', { privacyRequestId, stage: state.stage, historyLength: workflowInfo().historyLength });
        return continueAsNew<typeof privacyRequest>({ privacyRequestId, state });
      }
      handingOver = false; // an action started work meanwhile: finish it first
    }
  }
}
