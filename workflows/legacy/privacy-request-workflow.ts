/**
 * FROZEN: the workflow privacy requests ran on before the lifecycle machine. Requests started on it
 * replay and finish on it, so it stays as it was (docs/decisions.md: "A new workflow type for the
 * lifecycle machine"); new requests start `privacyRequest` (workflows/privacy-request.ts). Delete
 * it once no request of this type runs (`WorkflowType = "privacyRequestWorkflow" AND
 * ExecutionStatus = "Running"` finds none).
 *
 * One workflow per privacy request (workflow id = request id):
 *
 *   plan → review (when required) → access → access package (when the policy has access rules)
 *     → erasure confirmation (when asked) → erasure → complete
 *
 * Every collection is an activity with retries, run once all the collections it depends on are
 * done. A failure stops new work and puts the request in `error` until `retry` re-runs the failed
 * collections (never the finished ones). Manual collections pause the request until a person
 * answers or the deadline passes. Every action (approve, deny, cancel, retry, confirmErasure,
 * manualInput, erasureConfirm) arrives as a signal or an update and is validated here, the same
 * way for both; a rejected action changes nothing and leaves an audit row saying why.
 *
 * Deterministic orchestration only: reads and writes happen in activities, and history carries
 * ids, collection keys and counts (payloads are encrypted by the codec anyway).
 */
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  log,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../../activities/index.js';
import { claimedActor, manualRowsProblem, parseAction, type ActionName, type ActionPayload } from '../../src/domain/actions.js';
import { accessPackageExpiryWorkflow } from '../access-package.js';
import {
  accessPackageWorkflowId,
  DEFAULT_ACCESS_PACKAGE_EXPIRY_MS,
  eventKey,
  FAILURE_TYPES,
  SEARCH_ATTRIBUTES,
  signals,
  updates,
  type ActionResult,
  type ExecutionSettings,
  type PrivacyRequestOutcome,
  type PrivacyRequestWorkflowInput,
  type ResumeState,
} from '../definitions.js';

/** Bookkeeping writes to Postgres: retried until the database answers. */
const bookkeeping = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * The plan step: retried a bounded number of times, because the API commits the request row
 * just after starting the workflow and a request whose commit failed must not wait forever.
 */
const planning = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
});

type Status = Parameters<Activities['recordTransition']>[0]['status'];
type TransitionExtra = Omit<Parameters<Activities['recordTransition']>[0], 'privacyRequestId' | 'status' | 'at'>;
type Plan = Awaited<ReturnType<Activities['planPrivacyRequest']>>;
type Phase = 'access' | 'erasure';
type NodeStatus = 'pending' | 'running' | 'awaiting_input' | 'complete' | 'skipped' | 'failed';

interface Node {
  key: string;
  connectionKey: string;
  upstream: string[];
  manual: boolean;
  fields: string[];
  status: NodeStatus;
  run: number;
}

/** The innermost failure of an activity failure: its type, message and error category. */
function describeFailure(error: unknown): { type: string | undefined; message: string; category: string | undefined } {
  let cause: unknown = error;
  while (cause instanceof ActivityFailure && cause.cause) cause = cause.cause;
  if (cause instanceof ApplicationFailure) {
    return { type: cause.type ?? undefined, message: cause.message, category: (cause.details?.[0] as string | undefined) ?? undefined };
  }
  return { type: undefined, message: (cause as Error | undefined)?.message ?? String(cause), category: undefined };
}

export async function privacyRequestWorkflow(input: PrivacyRequestWorkflowInput): Promise<PrivacyRequestOutcome> {
  const { privacyRequestId } = input;
  const resumed = input.resume;
  const now = () => new Date().toISOString(); // workflow time: the same on replay

  // ---- State -------------------------------------------------------------------------------
  let status: Status = 'pending';
  let stage: 'planning' | 'review' | Phase | 'erasure_confirmation' | 'finished' = 'planning';
  let plan: Plan | undefined;
  let review: { decision: 'approve' | 'deny'; payload: ActionPayload<'approve'> | ActionPayload<'deny'> } | undefined;
  let reviewRecorded = false;
  let cancel: ActionPayload<'cancel'> | undefined;
  let erasureConfirmed = resumed?.erasureConfirmed ?? false;
  let erasureConfirmation: ActionPayload<'confirmErasure'> | undefined;
  let retries = resumed?.retries ?? 0;
  let retriesHandled = retries;
  let rejections = resumed?.rejections ?? 0;
  const retryRequests: ActionPayload<'retry'>[] = [];
  const rejected: { action: ActionName; reason: string; userId: string | null }[] = [];
  const inbox = new Map<string, ResumeState['inbox'][number]>(resumed?.inbox.map((entry) => [`${entry.phase}:${entry.collection}`, entry]));
  const processed = new Set<string>();
  let nodes: Node[] = [];
  let changed = 0;
  const bump = () => void (changed += 1);

  /** Manual answers taken, per `phase:collection:run`: a second answer for the same step is refused. */
  const consumed = new Set<string>();
  const isFinal = () => stage === 'finished';
  /**
   * Manual collections of the phase that take an answer: from the moment their step starts
   * (a continued run re-opens the task first) until an answer was taken.
   */
  const awaiting = (phase: Phase) =>
    stage === phase
      ? nodes.filter((node) => node.manual && (node.status === 'awaiting_input' || node.status === 'running') && !consumed.has(`${phase}:${node.key}:${node.run}`))
      : [];

  // ---- Actions: validated the same way whether they come as signals or updates ---------------
  /** Returns a reason to refuse, or a function that applies the action. */
  function check(action: ActionName, raw: unknown): { reason: string } | { apply: () => string } {
    const parsed = parseAction(action, raw);
    if (!parsed.ok) return { reason: `invalid ${action}: ${parsed.message}` };
    if (isFinal()) return { reason: `${action} refused: the request is ${status}` };
    const payload = parsed.value;
    switch (action) {
      case 'approve':
      case 'deny':
        // A decision may arrive while the plan is still being made: the request is pending then too.
        if (review || !(stage === 'review' || (stage === 'planning' && status === 'pending'))) {
          return { reason: `${action} refused: the request is not awaiting review (status ${status})` };
        }
        return { apply: () => ((review = { decision: action, payload: payload as ActionPayload<'deny'> }), 'review') };
      case 'cancel':
        if (cancel) return { reason: 'cancel refused: the request is already being canceled' };
        return { apply: () => ((cancel = payload as ActionPayload<'cancel'>), 'cancel') };
      case 'retry':
        if (status !== 'error') return { reason: `retry refused: the request is not in error (status ${status})` };
        return { apply: () => (retryRequests.push(payload as ActionPayload<'retry'>), (retries += 1), `retry:${retries}`) };
      case 'confirmErasure':
        if (stage !== 'erasure_confirmation' || erasureConfirmed) return { reason: `confirmErasure refused: the request is not awaiting erasure confirmation (status ${status})` };
        return { apply: () => ((erasureConfirmation = payload as ActionPayload<'confirmErasure'>), (erasureConfirmed = true), 'erasure_confirmation') };
      case 'manualInput':
      case 'erasureConfirm': {
        const phase: Phase = action === 'manualInput' ? 'access' : 'erasure';
        const waiting = awaiting(phase);
        const wanted = (payload as { collection?: string }).collection ?? waiting[0]?.key;
        const node = waiting.find((candidate) => candidate.key === wanted);
        if (!node) {
          const list = waiting.map((candidate) => candidate.key).join(', ');
          return { reason: `${action} refused: ${wanted ? `collection ${wanted} is not` : 'no collection is'} waiting for ${phase === 'access' ? 'manual input' : 'erasure confirmation'}${list ? ` (waiting: ${list})` : ''}` };
        }
        if (inbox.has(`${phase}:${node.key}`)) return { reason: `${action} refused: input for ${node.key} was already received` };
        if (action === 'manualInput') {
          const problem = manualRowsProblem((payload as ActionPayload<'manualInput'>).rows, node.fields);
          if (problem) return { reason: `invalid manualInput for ${node.key}: ${problem}` };
        }
        return {
          apply: () => {
            inbox.set(`${phase}:${node.key}`, { phase, collection: node.key, payload: payload as ActionPayload<'manualInput'> });
            return `input:${phase}:${node.key}:${node.run}`;
          },
        };
      }
      default:
        // Actions added after this workflow was frozen: its requests keep working as they did.
        return { reason: `${action} refused: this request runs on the workflow from before ${action} existed` };
    }
  }

  /** Set when this run hands over to a new one (continue-as-new): the action is carried along. */
  let continuing = false;

  /**
   * Resolves once the effect of an accepted action is recorded in Postgres, or the action was
   * handed over to the continued run (which records it).
   */
  async function effectRecorded(effect: string): Promise<void> {
    const over = () => isFinal() || continuing;
    if (effect === 'review') await condition(() => reviewRecorded || over());
    else if (effect === 'cancel') await condition(over);
    else if (effect.startsWith('retry:')) await condition(() => retriesHandled >= Number(effect.slice(6)) || over());
    else if (effect === 'erasure_confirmation') await condition(() => stage !== 'erasure_confirmation' || over());
    else await condition(() => processed.has(effect) || over());
  }

  for (const action of Object.keys(signals) as ActionName[]) {
    setHandler(signals[action], (payload: unknown) => {
      const result = check(action, payload);
      if ('reason' in result) rejected.push({ action, reason: result.reason, userId: claimedActor(payload) });
      else result.apply();
      bump();
    });
    setHandler(updates[action], async (payload: unknown): Promise<ActionResult> => {
      const result = check(action, payload);
      if ('reason' in result) {
        rejected.push({ action, reason: result.reason, userId: claimedActor(payload) });
        bump();
        throw ApplicationFailure.create({ type: FAILURE_TYPES.rejected, message: result.reason, nonRetryable: true });
      }
      const effect = result.apply();
      bump();
      await effectRecorded(effect);
      return { status };
    });
  }

  // ---- Recording ------------------------------------------------------------------------------
  const transition = async (next: Status, extra: TransitionExtra = {}) => {
    status = next;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.status, value: next }]);
    await bookkeeping.recordTransition({ privacyRequestId, status: next, at: now(), ...extra });
  };

  /** Rejected actions leave an audit row; recorded by this one loop so handlers stay synchronous. */
  let recordingRejections = false;
  const recordRejections = async () => {
    if (recordingRejections) return;
    recordingRejections = true;
    while (rejected.length) {
      const { action, reason, userId } = rejected.shift()!;
      rejections += 1;
      await bookkeeping.recordAudit({
        privacyRequestId,
        at: now(),
        audit: { eventKey: `rejected:${rejections}`, action: 'action_rejected', userId, message: reason },
      });
      log.info('Action rejected', { privacyRequestId, action });
    }
    recordingRejections = false;
  };
  /** Waits for the condition, recording rejected actions meanwhile. */
  const waitFor = async (done: () => boolean): Promise<void> => {
    for (;;) {
      const seen = changed; // before awaiting, so no change is missed
      await recordRejections();
      if (done()) return;
      await condition(() => done() || changed !== seen);
    }
  };

  const finish = async (outcome: PrivacyRequestOutcome['status'], extra: TransitionExtra): Promise<PrivacyRequestOutcome> => {
    await transition(outcome, extra);
    stage = 'finished';
    await recordRejections();
    await condition(allHandlersFinished);
    await recordRejections();
    return { status: outcome };
  };
  const finishCanceled = () =>
    finish('canceled', { stoppedAt: null, audit: { eventKey: 'canceled', action: 'canceled', userId: cancel?.user_id ?? null, message: cancel?.reason ?? null } });

  // ---- Plan -----------------------------------------------------------------------------------
  for (;;) {
    try {
      plan = await planning.planPrivacyRequest({ privacyRequestId });
      break;
    } catch (error) {
      const { type, message } = describeFailure(error);
      if (type === FAILURE_TYPES.notFound) {
        // The API never committed this request: there is nothing to record or resume.
        log.warn('Privacy request not found; ending', { privacyRequestId });
        return { status: 'error' };
      }
      await transition('error', { stoppedAt: null, audit: { eventKey: `error:plan:${retries}`, action: 'error', userId: 'system', message } });
      await waitFor(() => retries > retriesHandled || cancel !== undefined);
      if (cancel) return finishCanceled();
      await bookkeeping.recordAudit({ privacyRequestId, at: now(), audit: { eventKey: `retried:${retries}`, action: 'retried', userId: retryRequests.at(-1)?.user_id ?? null, message: 'retry planning' } });
      retriesHandled = retries;
    }
  }
  const settings: ExecutionSettings = plan.settings;
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTES.policyKey, value: plan.policyKey },
    { key: SEARCH_ATTRIBUTES.actionTypes, value: plan.actionTypes },
  ]);

  // ---- Review ---------------------------------------------------------------------------------
  if (!resumed) {
    if (review || plan.requiresApproval || settings.requireApproval) {
      stage = 'review';
      await transition('pending');
      await waitFor(() => review !== undefined || cancel !== undefined);
      if (cancel) return finishCanceled();
      const { decision, payload } = review!;
      if (decision === 'deny') {
        const denied = await finish('denied', {
          reviewedBy: payload.reviewer,
          denialReason: payload.reason ?? null,
          audit: { eventKey: 'denied', action: 'denied', userId: payload.reviewer, message: payload.reason ?? null },
        });
        reviewRecorded = true;
        return denied;
      }
      await transition('approved', { reviewedBy: payload.reviewer, audit: { eventKey: 'approved', action: 'approved', userId: payload.reviewer, message: payload.reason ?? null } });
      reviewRecorded = true;
    } else {
      await transition('approved', { audit: { eventKey: 'approved', action: 'approved', userId: 'system', message: 'approved automatically: the policy does not require review' } });
    }
  }

  // ---- Collections ----------------------------------------------------------------------------
  const collections = proxyActivities<Activities>({
    startToCloseTimeout: settings.startToCloseTimeoutMs,
    heartbeatTimeout: settings.heartbeatTimeoutMs,
    retry: {
      initialInterval: settings.initialRetryIntervalMs,
      backoffCoefficient: 2,
      maximumInterval: '5 minutes',
      maximumAttempts: settings.maxAttempts,
    },
  });

  const runManual = async (phase: Phase, node: Node) => {
    const opened = await bookkeeping.openManualStep({ privacyRequestId, collection: node.key, phase, run: node.run, deadlineMs: settings.manualDeadlineMs, now: now() });
    const key = `${phase}:${node.key}`;
    if (!opened.needed) {
      // Nothing for a person to do; an answer that arrived meanwhile has nothing to apply to.
      if (inbox.delete(key)) processed.add(`input:${key}:${node.run}`);
      consumed.add(`${key}:${node.run}`);
      node.status = opened.skipped ? 'skipped' : 'complete';
      return;
    }
    node.status = 'awaiting_input';
    bump();
    const answered = () => inbox.has(key) || cancel !== undefined;
    const remaining = Date.parse(opened.deadlineAt) - Date.now();
    const inTime = remaining > 0 ? await condition(answered, remaining) : answered();
    if (!inTime) {
      const skip = settings.manualDeadlineAction === 'skip';
      await bookkeeping.manualDeadlinePassed({ privacyRequestId, collection: node.key, phase, run: node.run, now: now(), skip });
      if (skip) {
        node.status = 'skipped';
        return;
      }
      await condition(answered);
    }
    // Handing over to the next run: the answer stays in the inbox, which goes along.
    if (continuing && patched('manual-answer-before-continue')) return;
    const entry = inbox.get(key);
    if (!entry) return; // canceled while waiting
    inbox.delete(key);
    consumed.add(`${key}:${node.run}`);
    node.status = 'running';
    bump();
    const userId = entry.payload.user_id ?? null;
    if (phase === 'access') {
      const { rows } = entry.payload as ActionPayload<'manualInput'>;
      await collections.storeManualRows({ privacyRequestId, collection: node.key, run: node.run, rows, userId });
      await bookkeeping.recordAudit({ privacyRequestId, at: now(), audit: { eventKey: `manual_input:access:${node.key}:${node.run}`, action: 'manual_input', userId, message: `${rows.length} rows for ${node.key}` } });
    } else {
      const { row_count } = entry.payload as ActionPayload<'erasureConfirm'>;
      await bookkeeping.confirmManualErasure({ privacyRequestId, collection: node.key, run: node.run, rowCount: row_count, userId });
      await bookkeeping.recordAudit({ privacyRequestId, at: now(), audit: { eventKey: `manual_input:erasure:${node.key}:${node.run}`, action: 'manual_input', userId, message: `${row_count} rows masked in ${node.key}` } });
    }
    node.status = 'complete';
    processed.add(`input:${key}:${node.run}`);
  };

  const runNode = async (phase: Phase, node: Node) => {
    try {
      if (node.manual) {
        await runManual(phase, node);
      } else if (phase === 'access') {
        await collections.accessCollection({ privacyRequestId, collection: node.key, run: node.run });
        node.status = 'complete';
      } else {
        const result = await collections.eraseCollection({ privacyRequestId, collection: node.key, run: node.run });
        node.status = result.skipped ? 'skipped' : 'complete';
      }
    } catch (error) {
      const { message, category, type } = describeFailure(error);
      const connectorCategory = type === FAILURE_TYPES.connector && category ? category : null;
      const reason = connectorCategory ? `${connectorCategory}: ${message}` : message;
      await bookkeeping.recordCollectionEvent({ privacyRequestId, collection: node.key, connectionKey: node.connectionKey, phase, eventKey: eventKey(phase, node.key, node.run, 'error'), status: 'error', message: reason, category: connectorCategory });
      node.status = 'failed';
      log.warn('Collection failed', { privacyRequestId, collection: node.key, phase, type, category });
    }
  };

  /** The status the request shows for the phase's node states, and where it stopped. */
  let recorded = '';
  const syncStatus = async (phase: Phase) => {
    const running = nodes.some((node) => node.status === 'running');
    const failed = nodes.find((node) => node.status === 'failed');
    const waiting = nodes.find((node) => node.status === 'awaiting_input');
    let next: Status = 'in_processing';
    let stoppedAt: { step: Phase; collection: string } | null = null;
    if (failed && !running) [next, stoppedAt] = ['error', { step: phase, collection: failed.key }];
    else if (waiting && !running) [next, stoppedAt] = ['paused', { step: phase, collection: waiting.key }];
    const signature = `${next}|${stoppedAt?.collection ?? ''}`;
    if (signature === recorded) return;
    recorded = signature;
    const audit =
      next === 'error'
        ? { eventKey: `error:${phase}:${failed!.key}:${failed!.run}`, action: 'error' as const, userId: 'system', message: `Collection ${failed!.key} failed during ${phase}` }
        : undefined;
    await transition(next, { stoppedAt, ...(audit ? { audit } : {}) });
  };

  const continueAsNewWanted = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > settings.historyEventLimit;

  /** Runs one phase's graph; returns how it ended. */
  const runPhase = async (phase: Phase): Promise<'done' | 'canceled' | 'continue'> => {
    stage = phase;
    const done = resumed?.phase === phase ? resumed.done : {};
    nodes = plan!.collections.map((collection) => ({
      key: collection.key,
      connectionKey: collection.connectionKey,
      upstream: phase === 'access' ? collection.upstream : collection.erasureUpstream,
      manual: collection.manual,
      fields: collection.fields,
      status: done[collection.key]?.status ?? 'pending',
      run: done[collection.key]?.run ?? (resumed?.phase === phase ? resumed.runs[collection.key] : undefined) ?? 1,
    }));
    const finished = new Set(['complete', 'skipped']);
    const byKey = new Map(nodes.map((node) => [node.key, node]));
    // Only collections with work in flight count: one waiting for a person takes no slot, and a
    // continued run picks it up again.
    const running = () => nodes.filter((node) => node.status === 'running').length;
    let retryStarted = retriesHandled;

    for (;;) {
      // Taken before anything awaits: a change during this iteration triggers the next one.
      const seen = changed;
      await recordRejections();
      if (retries > retryStarted) {
        // Re-run the failed collections as a new run; the finished ones stay finished.
        for (const node of nodes) {
          if (node.status === 'failed') {
            node.status = 'pending';
            node.run += 1;
          }
        }
        const request = retryRequests.at(-1);
        await bookkeeping.recordAudit({ privacyRequestId, at: now(), audit: { eventKey: `retried:${retries}`, action: 'retried', userId: request?.user_id ?? null, message: null } });
        retryStarted = retries;
      }
      const failed = nodes.some((node) => node.status === 'failed');
      const draining = cancel !== undefined || failed || continueAsNewWanted();
      if (!draining) {
        let slots = settings.collectionConcurrency - running();
        for (const node of nodes) {
          if (slots <= 0) break;
          if (node.status !== 'pending' || !node.upstream.every((key) => finished.has(byKey.get(key)!.status))) continue;
          node.status = 'running';
          slots -= 1;
          void runNode(phase, node).finally(bump);
        }
      }
      if (nodes.every((node) => finished.has(node.status))) return 'done';
      if (running() === 0 && cancel) return 'canceled';
      // An answer a manual collection has yet to take is handled here first: runManual takes it
      // out of the inbox, and once taken it would not be carried over to the next run.
      const answerWaiting = nodes.some((node) => node.manual && node.status === 'awaiting_input' && inbox.has(`${phase}:${node.key}`));
      if (running() === 0 && !failed && continueAsNewWanted() && rejected.length === 0 && !(answerWaiting && patched('manual-answer-before-continue'))) return 'continue';
      await syncStatus(phase);
      // The retry's effect is recorded once the request left `error` (its update answers then).
      retriesHandled = Math.max(retriesHandled, retryStarted);
      await condition(() => changed !== seen);
    }
  };

  const continueRun = async (phase: Phase) => {
    continuing = true;
    await condition(allHandlersFinished);
    const resume: ResumeState = {
      phase,
      done: Object.fromEntries(nodes.filter((node) => node.status === 'complete' || node.status === 'skipped').map((node) => [node.key, { status: node.status as 'complete' | 'skipped', run: node.run }])),
      runs: Object.fromEntries(nodes.filter((node) => node.run > 1).map((node) => [node.key, node.run])),
      erasureConfirmed,
      retries,
      rejections,
      inbox: [...inbox.values()],
    };
    log.info('Continuing as new', { privacyRequestId, phase, historyLength: workflowInfo().historyLength });
    return continueAsNew<typeof privacyRequestWorkflow>({ privacyRequestId, resume });
  };

  /**
   * The access package: written once access is done. A failure (after the collection retries)
   * is recorded on the package and the request goes on. A child workflow, left running when
   * this one ends, deletes the file at the expiry.
   */
  const writeAccessPackage = async () => {
    let written: Awaited<ReturnType<Activities['prepareAccessPackage']>>;
    try {
      written = await collections.prepareAccessPackage({ privacyRequestId, expiresInMs: settings.accessPackageExpiryMs ?? DEFAULT_ACCESS_PACKAGE_EXPIRY_MS });
    } catch (error) {
      await bookkeeping.recordAccessPackageFailure({ privacyRequestId, at: now(), message: describeFailure(error).message });
      log.warn('Access package failed', { privacyRequestId });
      return;
    }
    if (!written.expiresAt) return;
    try {
      await startChild(accessPackageExpiryWorkflow, {
        workflowId: accessPackageWorkflowId(privacyRequestId),
        args: [{ privacyRequestId, expiresAt: written.expiresAt }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
    } catch (error) {
      // Already running (the package was written before): that one deletes it.
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
  };

  if (!resumed || resumed.phase === 'access') {
    if (!resumed) await transition('in_processing');
    const outcome = await runPhase('access');
    if (outcome === 'canceled') return finishCanceled();
    if (outcome === 'continue') return continueRun('access');
    // Requests that ran access before packages existed replay without this step.
    if (plan.actionTypes.includes('access') && patched('access-package')) await writeAccessPackage();
  }

  if (plan.actionTypes.includes('erasure')) {
    if (plan.requiresErasureConfirmation && !erasureConfirmed) {
      stage = 'erasure_confirmation';
      await bookkeeping.previewErasure({ privacyRequestId });
      await transition('awaiting_erasure_confirmation', { stoppedAt: null });
      await waitFor(() => erasureConfirmed || cancel !== undefined);
      if (cancel) return finishCanceled();
      await bookkeeping.recordAudit({ privacyRequestId, at: now(), audit: { eventKey: 'erasure_confirmed', action: 'erasure_confirmed', userId: erasureConfirmation?.user_id ?? null, message: null } });
    }
    recorded = '';
    await transition('in_processing', { stoppedAt: null });
    const outcome = await runPhase('erasure');
    if (outcome === 'canceled') return finishCanceled();
    if (outcome === 'continue') return continueRun('erasure');
  }

  return finish('complete', { stoppedAt: null, audit: { eventKey: 'finished', action: 'finished', userId: 'system', message: null } });
}
