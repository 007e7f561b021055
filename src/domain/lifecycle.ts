/**
 * The lifecycle of one privacy request, as a pure state machine: `step(state, event)` answers the
 * next state and the commands to carry out. Every rule of the lifecycle lives here, once: which
 * action is accepted when (and why one is refused), what runs next, what a retry re-runs, when the
 * request pauses, errs, continues as new or finishes.
 *
 *   plan → review (when required) → access → access package (when the policy has access rules)
 *     → erasure confirmation (when asked) → erasure → complete
 *
 * The state is plain JSON: the workflow (workflows/privacy-request.ts) hands it whole to the
 * next run when the history grows long. Nothing here reads a clock, a database or Temporal:
 * events carry the time (`at`, workflow time) and results; commands say what to do.
 *
 * Pure: imported by workflow code.
 */
import { claimedActor, manualRowsProblem, parseAction, type ActionName, type ActionPayload } from './actions.js';
import type { ActionType } from './policies.js';
import type { PrivacyRequestStatus } from './privacy-requests.js';

export type Phase = ActionType;

/** What one step of a collection wrote in the execution log. */
export const EXECUTION_LOG_STATUSES = ['in_processing', 'retrying', 'complete', 'error', 'skipped', 'paused'] as const;
export type ExecutionLogStatus = (typeof EXECUTION_LOG_STATUSES)[number];

/** Where one collection stands in one phase; the `request_task` row mirrors it. */
export const TASK_STATUSES = ['pending', 'in_processing', 'awaiting_input', 'paused', 'complete', 'skipped', 'error'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** How the worker runs requests (DSRFLOW_* settings), decided when the request is planned. */
export interface ExecutionSettings {
  startToCloseTimeoutMs: number;
  heartbeatTimeoutMs: number;
  maxAttempts: number;
  initialRetryIntervalMs: number;
  collectionConcurrency: number;
  requireApproval: boolean;
  manualDeadlineMs: number;
  manualDeadlineAction: 'skip' | 'wait';
  historyEventLimit: number;
  accessPackageExpiryMs?: number;
}

/** What the plan step answers: keys, dependencies and field names, never data. */
export interface PlannedRequest {
  policyKey: string;
  actionTypes: ActionType[];
  requiresApproval: boolean;
  requiresErasureConfirmation: boolean;
  collections: {
    key: string;
    connectionKey: string;
    upstream: string[];
    erasureUpstream: string[];
    /** A person supplies the rows (access) and confirms the masking (erasure). */
    manual: boolean;
    /** The collection's top-level fields: what manual input may contain. */
    fields: string[];
  }[];
  settings: ExecutionSettings;
}

export type ManualAnswer = { phase: 'access'; rows: Record<string, unknown>[]; userId: string | null } | { phase: 'erasure'; rowCount: number; userId: string | null };

export interface Task {
  status: TaskStatus;
  /** 1, then one more for each retry of this collection. */
  run: number;
  /** Manual collections: when the person's time is up. */
  deadlineAt?: string;
  /** Manual collections: an accepted answer, until it is stored. */
  answer?: ManualAnswer;
}

export interface Warning {
  phase: Phase;
  collection: string;
  reason: string;
}

/** What an audit row says happened to the request as a whole. */
export const AUDIT_LOG_ACTIONS = ['approved', 'denied', 'finished', 'canceled', 'error', 'retried', 'erasure_confirmed', 'manual_input', 'action_rejected', 'warning'] as const;
export type AuditLogAction = (typeof AUDIT_LOG_ACTIONS)[number];

export interface AuditEntry {
  eventKey: string;
  action: AuditLogAction;
  userId: string | null;
  message: string | null;
}

export type Stage = 'planning' | 'review' | 'access' | 'package' | 'erasure_confirmation' | 'erasure' | 'finished';

export interface LifecycleState {
  privacyRequestId: string;
  /** The status the request shows, as last recorded. */
  status: PrivacyRequestStatus;
  stoppedAt: { step: Phase; collection: string } | null;
  stage: Stage;
  plan: PlannedRequest | null;
  /** The plan step: running, failed (the request is in error until retried), or done. */
  planning: 'running' | 'failed' | 'done';
  review: { decision: 'approve' | 'deny'; by: string; reason: string | null; applied: boolean } | null;
  cancel: { by: string | null; reason: string } | null;
  erasureConfirmed: boolean;
  /** Something other than a collection is in flight: the erasure preview or the access package. */
  busy: 'preview' | 'package' | null;
  /** Accepted retries and refused actions so far: they number their audit rows. */
  retries: number;
  rejections: number;
  tasks: Record<Phase, Record<string, Task>>;
  warnings: Warning[];
  /** The history is long: start nothing new, then continue as new. */
  draining: boolean;
  /** Accepted actions whose effect is not recorded yet, by acknowledgement number. */
  pendingEffects: Record<string, string>;
  nextAck: number;
  outcome: 'complete' | 'denied' | 'canceled' | 'error' | null;
}

export type LifecycleEvent =
  /** A run of the workflow started: the first, or one continued as new (with its state). */
  | { type: 'started'; at: string }
  | { type: 'planned'; at: string; plan: PlannedRequest }
  | { type: 'planFailed'; at: string; message: string; notFound: boolean }
  /** An action from the API (an update) or an external system (a signal), not validated yet. */
  | { type: 'action'; at: string; action: ActionName; payload: unknown }
  /** `warning`: the collection was skipped while the person's data is still there. */
  | { type: 'collectionSucceeded'; at: string; phase: Phase; collection: string; run: number; rowCount: number | null; skipped: string | null; warning?: string | null }
  | { type: 'collectionFailed'; at: string; phase: Phase; collection: string; run: number; message: string; category: string | null }
  | { type: 'manualOpened'; at: string; phase: Phase; collection: string; run: number; needed: boolean; skipped: string | null; warning?: string | null; deadlineAt: string }
  | { type: 'manualAnswerStored'; at: string; phase: Phase; collection: string; run: number }
  | { type: 'timerFired'; at: string; timer: string }
  | { type: 'erasurePreviewed'; at: string }
  | { type: 'packagePrepared'; at: string }
  | { type: 'historyLimitReached'; at: string };

export interface TransitionRecord {
  status: PrivacyRequestStatus;
  stoppedAt?: { step: Phase; collection: string } | null;
  reviewedBy?: string | null;
  denialReason?: string | null;
  warnings?: Warning[];
}

export type LifecycleCommand =
  | { type: 'plan' }
  /** Bookkeeping, carried out one after the other in this order: a status, an audit row, a task row, an error in the log. */
  | { type: 'record'; at: string; transition?: TransitionRecord; audit?: AuditEntry }
  | { type: 'recordTask'; at: string; phase: Phase; collection: string; task: Task; rowCount?: number | null; error?: { message: string; category: string | null } | null; skippedReason?: string | null }
  /** Every task of a phase, as planned: pending, with what it waits for. */
  | { type: 'recordTasks'; at: string; phase: Phase; collections: { collection: string; connectionKey: string; manual: boolean; upstream: string[] }[] }
  | { type: 'recordCollectionError'; at: string; phase: Phase; collection: string; connectionKey: string; run: number; message: string; category: string | null }
  | { type: 'manualDeadlinePassed'; at: string; phase: Phase; collection: string; run: number; skip: boolean }
  /** Work that runs alongside other work and answers with an event. */
  | { type: 'runCollection'; phase: Phase; collection: string; run: number }
  | { type: 'openManualStep'; phase: Phase; collection: string; run: number; deadlineMs: number }
  | { type: 'storeManualAnswer'; collection: string; run: number; answer: ManualAnswer }
  | { type: 'startTimer'; timer: string; ms: number }
  | { type: 'cancelTimer'; timer: string }
  | { type: 'previewErasure' }
  | { type: 'preparePackage'; expiresInMs: number }
  | { type: 'searchAttributes'; policyKey: string; actionTypes: ActionType[] }
  | { type: 'continueAsNew' }
  | { type: 'finish'; outcome: 'complete' | 'denied' | 'canceled' | 'error' };

export interface StepResult {
  state: LifecycleState;
  commands: LifecycleCommand[];
  /** For an `action` event: accepted (with the acknowledgement to wait for), or refused with the reason. */
  verdict?: { accepted: true; ack: number } | { accepted: false; reason: string };
  /** Acknowledgements whose effect the commands above record. */
  resolved: number[];
}

/** Access packages expire after this long when the settings do not say (DSRFLOW_ACCESS_PACKAGE_EXPIRY's default). */
export const DEFAULT_ACCESS_PACKAGE_EXPIRY_MS = 7 * 24 * 60 * 60 * 1000;

/** Idempotency key of one execution log event: `access:dataset:collection:run:event`. */
export const eventKey = (phase: Phase, collection: string, run: number, event: string): string => `${phase}:${collection}:${run}:${event}`;

export const manualTimer = (phase: Phase, collection: string, run: number) => `manual:${phase}:${collection}:${run}`;

export function initialState(privacyRequestId: string): LifecycleState {
  return {
    privacyRequestId,
    status: 'pending',
    stoppedAt: null,
    stage: 'planning',
    plan: null,
    planning: 'running',
    review: null,
    cancel: null,
    erasureConfirmed: false,
    busy: null,
    retries: 0,
    rejections: 0,
    tasks: { access: {}, erasure: {} },
    warnings: [],
    draining: false,
    pendingEffects: {},
    nextAck: 1,
    outcome: null,
  };
}

const FINISHED: readonly TaskStatus[] = ['complete', 'skipped'];

/** Nothing in flight: no plan, preview, package or collection step running. A run may hand over now. */
export function isQuiet(state: LifecycleState): boolean {
  if (state.planning === 'running' || state.busy) return false;
  return !Object.values(state.tasks).some((tasks) => Object.values(tasks).some((task) => task.status === 'in_processing'));
}
const isFinal = (state: LifecycleState) => state.stage === 'finished';
const phaseOf = (stage: Stage): Phase | undefined => (stage === 'access' || stage === 'erasure' ? stage : undefined);

/**
 * One step of the machine. The input state is not changed: the answer shares what did not
 * change with it, and copies what did (a request over thousands of collections takes thousands
 * of steps, so a deep copy per step would not do).
 */
export function step(previous: LifecycleState, event: LifecycleEvent): StepResult {
  const machine = new Step(previous, event.at);
  machine.handle(event);
  return machine.result();
}

/**
 * One step's working copy: the handlers change `state` and append commands, and `advance`
 * moves the request as far as it can go before the next event.
 */
class Step {
  readonly state: LifecycleState;
  readonly commands: LifecycleCommand[] = [];
  readonly resolved: number[] = [];
  verdict: StepResult['verdict'];
  /** Tasks already copied in this step, as `phase:collection`. */
  private readonly copied = new Set<string>();

  constructor(
    previous: LifecycleState,
    readonly at: string,
  ) {
    this.state = {
      ...previous,
      stoppedAt: previous.stoppedAt && { ...previous.stoppedAt },
      review: previous.review && { ...previous.review },
      cancel: previous.cancel && { ...previous.cancel },
      tasks: { access: { ...previous.tasks.access }, erasure: { ...previous.tasks.erasure } },
      warnings: [...previous.warnings],
      pendingEffects: { ...previous.pendingEffects },
    };
  }

  /** The task, copied once in this step so that changing it leaves the previous state alone. */
  private mutable(phase: Phase, collection: string): Task {
    const key = `${phase}:${collection}`;
    const tasks = this.state.tasks[phase];
    if (!this.copied.has(key)) {
      tasks[collection] = { ...tasks[collection]! };
      this.copied.add(key);
    }
    return tasks[collection]!;
  }

  result(): StepResult {
    return { state: this.state, commands: this.commands, ...(this.verdict ? { verdict: this.verdict } : {}), resolved: this.resolved };
  }

  handle(event: LifecycleEvent): void {
    const state = this.state;
    switch (event.type) {
      case 'started':
        this.started();
        break;
      case 'planned':
        if (state.planning !== 'running') return;
        state.planning = 'done';
        state.plan = event.plan;
        this.commands.push({ type: 'searchAttributes', policyKey: event.plan.policyKey, actionTypes: event.plan.actionTypes });
        this.afterPlan();
        break;
      case 'planFailed':
        if (state.planning !== 'running') return;
        if (event.notFound) {
          // The API never committed this request: there is nothing to record or resume.
          this.finish('error', { record: false });
          return;
        }
        state.planning = 'failed';
        this.transition({ status: 'error', stoppedAt: null }, { eventKey: `error:plan:${state.retries}`, action: 'error', userId: 'system', message: event.message });
        break;
      case 'action':
        this.action(event.action, event.payload);
        // A refused action changes nothing.
        if (!this.verdict?.accepted) return;
        break;
      case 'collectionSucceeded':
        this.collectionSucceeded(event);
        break;
      case 'collectionFailed': {
        const current = this.taskAt(event.phase, event.collection, event.run);
        if (!current || current.status !== 'in_processing') return;
        this.mutable(event.phase, event.collection).status = 'error';
        const connectionKey = state.plan!.collections.find((collection) => collection.key === event.collection)!.connectionKey;
        this.commands.push({ type: 'recordCollectionError', at: this.at, phase: event.phase, collection: event.collection, connectionKey, run: event.run, message: event.message, category: event.category });
        this.recordTask(event.phase, event.collection, { error: { message: event.message, category: event.category } });
        break;
      }
      case 'manualOpened':
        this.manualOpened(event);
        break;
      case 'manualAnswerStored': {
        const current = this.taskAt(event.phase, event.collection, event.run);
        if (!current || current.status !== 'in_processing' || !current.answer) return;
        const task = this.mutable(event.phase, event.collection);
        const rowCount = task.answer!.phase === 'access' ? task.answer!.rows.length : task.answer!.rowCount;
        delete task.answer;
        task.status = 'complete';
        this.recordTask(event.phase, event.collection, { rowCount });
        this.resolveEffect(`input:${event.phase}:${event.collection}:${event.run}`);
        break;
      }
      case 'timerFired':
        this.timerFired(event.timer);
        break;
      case 'erasurePreviewed':
        if (state.busy !== 'preview') return;
        state.busy = null;
        if (!state.cancel) this.transition({ status: 'awaiting_erasure_confirmation', stoppedAt: null });
        break;
      case 'packagePrepared':
        if (state.busy !== 'package') return;
        state.busy = null;
        break;
      case 'historyLimitReached':
        if (!isFinal(state)) state.draining = true;
        break;
    }
    this.advance();
  }

  // ---- Starting ------------------------------------------------------------------------------

  private started(): void {
    const state = this.state;
    if (isFinal(state)) return;
    if (state.draining) {
      // A run continued as new: nothing was in flight, so restart what waits on time, and go on.
      state.draining = false;
      const phase = phaseOf(state.stage);
      if (phase) {
        for (const [collection, task] of Object.entries(state.tasks[phase])) {
          if (task.status === 'awaiting_input' && task.deadlineAt) {
            this.commands.push({ type: 'startTimer', timer: manualTimer(phase, collection, task.run), ms: Math.max(0, Date.parse(task.deadlineAt) - Date.parse(this.at)) });
          }
        }
      }
      return;
    }
    if (state.planning === 'running' && state.plan === null) this.commands.push({ type: 'plan' });
  }

  private afterPlan(): void {
    const state = this.state;
    const plan = state.plan!;
    state.tasks = {
      access: Object.fromEntries(plan.collections.map((collection) => [collection.key, { status: 'pending', run: 1 } as Task])),
      erasure: plan.actionTypes.includes('erasure') ? Object.fromEntries(plan.collections.map((collection) => [collection.key, { status: 'pending', run: 1 } as Task])) : {},
    };
    for (const phase of ['access', 'erasure'] as const) {
      if (!Object.keys(state.tasks[phase]).length) continue;
      const collections = plan.collections.map((collection) => ({
        collection: collection.key,
        connectionKey: collection.connectionKey,
        manual: collection.manual,
        upstream: phase === 'access' ? collection.upstream : collection.erasureUpstream,
      }));
      this.commands.push({ type: 'recordTasks', at: this.at, phase, collections });
    }
    if (state.cancel) return;
    if (state.review?.decision === 'deny' || plan.requiresApproval || plan.settings.requireApproval || state.review) {
      state.stage = 'review';
      this.transition({ status: 'pending' });
      this.applyReview();
      return;
    }
    this.transition({ status: 'approved' }, { eventKey: 'approved', action: 'approved', userId: 'system', message: 'approved automatically: the policy does not require review' });
    this.enterAccess();
  }

  /** A decision taken, while the request waits for review: deny ends it, approve starts access. */
  private applyReview(): void {
    const state = this.state;
    const review = state.review;
    if (state.stage !== 'review' || !review || review.applied) return;
    review.applied = true;
    this.resolveEffect('review');
    if (review.decision === 'deny') {
      this.finish('denied', { transition: { status: 'denied', reviewedBy: review.by, denialReason: review.reason } });
      return;
    }
    this.transition({ status: 'approved', reviewedBy: review.by });
    this.enterAccess();
  }

  private enterAccess(): void {
    this.state.stage = 'access';
    this.transition({ status: 'in_processing', stoppedAt: null });
  }

  // ---- Actions -------------------------------------------------------------------------------

  private refuse(action: ActionName, payload: unknown, reason: string): void {
    const state = this.state;
    state.rejections += 1;
    this.commands.push({ type: 'record', at: this.at, audit: { eventKey: `rejected:${state.rejections}`, action: 'action_rejected', userId: claimedActor(payload), message: reason } });
    this.verdict = { accepted: false, reason };
    void action;
  }

  private accept(effect: string | null, audit: AuditEntry | null): void {
    const state = this.state;
    const ack = state.nextAck;
    state.nextAck += 1;
    if (effect !== null) state.pendingEffects[String(ack)] = effect;
    else this.resolved.push(ack);
    if (audit) this.commands.push({ type: 'record', at: this.at, audit });
    this.verdict = { accepted: true, ack };
  }

  /** Why the action cannot be taken now, or undefined when it can. */
  private action(action: ActionName, raw: unknown): void {
    const state = this.state;
    const parsed = parseAction(action, raw);
    if (!parsed.ok) return this.refuse(action, raw, `invalid ${action}: ${parsed.message}`);
    if (isFinal(state)) return this.refuse(action, raw, `${action} refused: the request is ${state.status}`);
    const payload = parsed.value;
    switch (action) {
      case 'approve':
      case 'deny': {
        const { reviewer, reason } = payload as ActionPayload<'deny'>;
        // A decision may arrive while the plan is still being made: the request is pending then too.
        const awaiting = state.stage === 'review' || (state.stage === 'planning' && state.planning === 'running');
        if (state.review || state.cancel || !awaiting) return this.refuse(action, raw, `${action} refused: the request is not awaiting review (status ${state.status})`);
        state.review = { decision: action, by: reviewer, reason: reason ?? null, applied: false };
        this.accept('review', { eventKey: action === 'approve' ? 'approved' : 'denied', action: action === 'approve' ? 'approved' : 'denied', userId: reviewer, message: reason ?? null });
        this.applyReview();
        return;
      }
      case 'cancel': {
        if (state.cancel) return this.refuse(action, raw, 'cancel refused: the request is already being canceled');
        const { user_id: userId, reason } = payload as ActionPayload<'cancel'>;
        state.cancel = { by: userId ?? null, reason };
        // Its audit row is written with the canceled status, once nothing runs any more.
        this.accept('cancel', null);
        return;
      }
      case 'retry': {
        if (state.status !== 'error') return this.refuse(action, raw, `retry refused: the request is not in error (status ${state.status})`);
        state.retries += 1;
        const userId = (payload as ActionPayload<'retry'>).user_id ?? null;
        this.accept(null, { eventKey: `retried:${state.retries}`, action: 'retried', userId, message: state.planning === 'failed' ? 'retry planning' : null });
        this.retry();
        return;
      }
      case 'confirmErasure': {
        if (state.stage !== 'erasure_confirmation' || state.erasureConfirmed) {
          return this.refuse(action, raw, `confirmErasure refused: the request is not awaiting erasure confirmation (status ${state.status})`);
        }
        state.erasureConfirmed = true;
        this.accept(null, { eventKey: 'erasure_confirmed', action: 'erasure_confirmed', userId: (payload as ActionPayload<'confirmErasure'>).user_id ?? null, message: null });
        return;
      }
      case 'manualInput':
      case 'erasureConfirm':
        return this.manualAnswer(action, raw, payload as ActionPayload<'manualInput'> | ActionPayload<'erasureConfirm'>);
    }
  }

  private manualAnswer(action: 'manualInput' | 'erasureConfirm', raw: unknown, payload: ActionPayload<'manualInput'> | ActionPayload<'erasureConfirm'>): void {
    const state = this.state;
    const phase: Phase = action === 'manualInput' ? 'access' : 'erasure';
    // Manual collections take an answer from the moment their step starts (it may still be
    // opening) until one was taken.
    const waiting =
      state.stage === phase && !state.cancel
        ? state.plan!.collections.filter((collection) => {
            const task = state.tasks[phase][collection.key]!;
            return collection.manual && ['in_processing', 'awaiting_input', 'paused'].includes(task.status) && !task.answer;
          })
        : [];
    const wanted = payload.collection ?? waiting[0]?.key;
    const collection = waiting.find((candidate) => candidate.key === wanted);
    if (!collection) {
      const answered = wanted !== undefined && state.tasks[phase]?.[wanted]?.answer !== undefined;
      if (answered) return this.refuse(action, raw, `${action} refused: input for ${wanted} was already received`);
      const list = waiting.map((candidate) => candidate.key).join(', ');
      return this.refuse(
        action,
        raw,
        `${action} refused: ${wanted ? `collection ${wanted} is not` : 'no collection is'} waiting for ${phase === 'access' ? 'manual input' : 'erasure confirmation'}${list ? ` (waiting: ${list})` : ''}`,
      );
    }
    if (action === 'manualInput') {
      const problem = manualRowsProblem((payload as ActionPayload<'manualInput'>).rows, collection.fields);
      if (problem) return this.refuse(action, raw, `invalid manualInput for ${collection.key}: ${problem}`);
    }
    const task = this.mutable(phase, collection.key);
    const userId = payload.user_id ?? null;
    task.answer =
      action === 'manualInput'
        ? { phase: 'access', rows: (payload as ActionPayload<'manualInput'>).rows, userId }
        : { phase: 'erasure', rowCount: (payload as ActionPayload<'erasureConfirm'>).row_count, userId };
    const message = task.answer.phase === 'access' ? `${task.answer.rows.length} rows for ${collection.key}` : `${task.answer.rowCount} rows masked in ${collection.key}`;
    this.accept(`input:${phase}:${collection.key}:${task.run}`, { eventKey: `manual_input:${phase}:${collection.key}:${task.run}`, action: 'manual_input', userId, message });
    if (task.status !== 'in_processing') this.storeAnswer(phase, collection.key);
  }

  private storeAnswer(phase: Phase, collection: string): void {
    const task = this.mutable(phase, collection);
    if (task.status === 'awaiting_input') this.commands.push({ type: 'cancelTimer', timer: manualTimer(phase, collection, task.run) });
    task.status = 'in_processing';
    this.recordTask(phase, collection, {});
    this.commands.push({ type: 'storeManualAnswer', collection, run: task.run, answer: task.answer! });
  }

  private retry(): void {
    const state = this.state;
    if (state.planning === 'failed') {
      state.planning = 'running';
      this.commands.push({ type: 'plan' });
      return;
    }
    const phase = phaseOf(state.stage);
    if (!phase) return;
    // Re-run the failed collections as a new run; the finished ones stay finished.
    for (const [collection, current] of Object.entries(state.tasks[phase])) {
      if (current.status !== 'error') continue;
      const task = this.mutable(phase, collection);
      task.status = 'pending';
      task.run += 1;
      delete task.deadlineAt;
      delete task.answer;
      // The last error stays on the task: what the collection recovered from.
      this.recordTask(phase, collection, {});
    }
  }

  // ---- Collections ---------------------------------------------------------------------------

  private taskAt(phase: Phase, collection: string, run: number): Task | undefined {
    const task = this.state.tasks[phase]?.[collection];
    return task && task.run === run ? task : undefined;
  }

  private recordTask(phase: Phase, collection: string, extra: { rowCount?: number | null; error?: { message: string; category: string | null } | null; skippedReason?: string | null }): void {
    const task = this.state.tasks[phase][collection]!;
    const { answer: _answer, ...shown } = task;
    this.commands.push({ type: 'recordTask', at: this.at, phase, collection, task: shown, ...extra });
  }

  private collectionSucceeded(event: Extract<LifecycleEvent, { type: 'collectionSucceeded' }>): void {
    const current = this.taskAt(event.phase, event.collection, event.run);
    if (!current || current.status !== 'in_processing' || this.isManual(event.collection)) return;
    this.mutable(event.phase, event.collection).status = event.skipped ? 'skipped' : 'complete';
    if (event.warning) this.warn(event.phase, event.collection, event.warning);
    this.recordTask(event.phase, event.collection, { rowCount: event.rowCount, skippedReason: event.skipped });
  }

  /** A collection skipped while the person's data is (or may be) still there: no answer in time, or erasure that could not address it. */
  private warn(phase: Phase, collection: string, reason: string): void {
    this.state.warnings.push({ phase, collection, reason });
  }

  private isManual(collection: string): boolean {
    return this.state.plan?.collections.find((candidate) => candidate.key === collection)?.manual === true;
  }

  private manualOpened(event: Extract<LifecycleEvent, { type: 'manualOpened' }>): void {
    const state = this.state;
    const current = this.taskAt(event.phase, event.collection, event.run);
    if (!current || current.status !== 'in_processing' || current.deadlineAt !== undefined || !this.isManual(event.collection)) return;
    const task = this.mutable(event.phase, event.collection);
    if (!event.needed) {
      // Nothing for a person to do; an answer that arrived meanwhile has nothing to apply to.
      if (task.answer) {
        delete task.answer;
        this.resolveEffect(`input:${event.phase}:${event.collection}:${event.run}`);
      }
      task.status = event.skipped ? 'skipped' : 'complete';
      if (event.warning) this.warn(event.phase, event.collection, event.warning);
      this.recordTask(event.phase, event.collection, { rowCount: 0, skippedReason: event.skipped });
      return;
    }
    task.deadlineAt = event.deadlineAt;
    if (task.answer && !state.cancel) {
      this.storeAnswer(event.phase, event.collection);
      return;
    }
    task.status = 'awaiting_input';
    this.recordTask(event.phase, event.collection, {});
    this.commands.push({ type: 'startTimer', timer: manualTimer(event.phase, event.collection, task.run), ms: Math.max(0, Date.parse(event.deadlineAt) - Date.parse(this.at)) });
  }

  private timerFired(timer: string): void {
    const state = this.state;
    const phase = phaseOf(state.stage);
    if (!phase || !state.plan) return;
    for (const [collection, current] of Object.entries(state.tasks[phase])) {
      if (manualTimer(phase, collection, current.run) !== timer || current.status !== 'awaiting_input' || current.answer) continue;
      const task = this.mutable(phase, collection);
      const skip = state.plan.settings.manualDeadlineAction === 'skip';
      this.commands.push({ type: 'manualDeadlinePassed', at: this.at, phase, collection, run: task.run, skip });
      if (skip) {
        task.status = 'skipped';
        this.warn(phase, collection, 'no response before the deadline');
        this.recordTask(phase, collection, { rowCount: 0, skippedReason: 'no response before the deadline' });
      } else {
        task.status = 'paused';
        this.recordTask(phase, collection, {});
      }
    }
  }

  // ---- Moving on -----------------------------------------------------------------------------

  /** Moves the request as far as it can go now: schedules, changes stage, records the status, continues or finishes. */
  private advance(): void {
    const state = this.state;
    if (isFinal(state)) return;
    for (;;) {
      const before = `${state.stage}|${state.busy}`;
      this.advanceStage();
      if (isFinal(state) || `${state.stage}|${state.busy}` === before) break;
    }
    if (isFinal(state)) return;
    const phase = phaseOf(state.stage);
    if (phase) this.syncStatus(phase);
    if (state.draining && this.quiet()) this.commands.push({ type: 'continueAsNew' });
  }

  /** Nothing in flight: no collection running, no plan, preview or package being made. */
  private quiet(): boolean {
    return isQuiet(this.state);
  }

  private advanceStage(): void {
    const state = this.state;
    const plan = state.plan;
    if (state.cancel) {
      if (this.quiet() || state.stage === 'review' || (state.stage === 'planning' && state.planning !== 'running')) this.finishCanceled();
      return;
    }
    switch (state.stage) {
      case 'planning':
      case 'review':
        return;
      case 'access':
      case 'erasure': {
        const phase = state.stage;
        if (this.schedule(phase)) return;
        if (phase === 'access') {
          if (plan!.actionTypes.includes('access')) {
            state.stage = 'package';
            state.busy = 'package';
            this.commands.push({ type: 'preparePackage', expiresInMs: plan!.settings.accessPackageExpiryMs ?? DEFAULT_ACCESS_PACKAGE_EXPIRY_MS });
          } else {
            this.enterErasure();
          }
          return;
        }
        this.finishComplete();
        return;
      }
      case 'package':
        if (state.busy) return;
        this.enterErasure();
        return;
      case 'erasure_confirmation':
        if (state.busy || !state.erasureConfirmed) return;
        state.stage = 'erasure';
        this.transition({ status: 'in_processing', stoppedAt: null });
        return;
      case 'finished':
        return;
    }
  }

  private enterErasure(): void {
    const state = this.state;
    const plan = state.plan!;
    if (!plan.actionTypes.includes('erasure')) {
      this.finishComplete();
      return;
    }
    if (plan.requiresErasureConfirmation && !state.erasureConfirmed) {
      state.stage = 'erasure_confirmation';
      state.busy = 'preview';
      this.commands.push({ type: 'previewErasure' });
      return;
    }
    state.stage = 'erasure';
    this.transition({ status: 'in_processing', stoppedAt: null });
  }

  /**
   * Starts the collections whose upstream collections are done, within the concurrency; answers
   * whether the phase still has work (true) or every collection finished (false).
   */
  private schedule(phase: Phase): boolean {
    const state = this.state;
    const plan = state.plan!;
    const tasks = state.tasks[phase];
    const failed = Object.values(tasks).some((task) => task.status === 'error');
    if (!failed && !state.draining) {
      let slots = plan.settings.collectionConcurrency - Object.values(tasks).filter((task) => task.status === 'in_processing').length;
      for (const collection of plan.collections) {
        if (slots <= 0) break;
        const upstream = phase === 'access' ? collection.upstream : collection.erasureUpstream;
        if (tasks[collection.key]!.status !== 'pending' || !upstream.every((key) => FINISHED.includes(tasks[key]!.status))) continue;
        const task = this.mutable(phase, collection.key);
        task.status = 'in_processing';
        slots -= 1;
        this.recordTask(phase, collection.key, {});
        if (collection.manual) {
          this.commands.push({ type: 'openManualStep', phase, collection: collection.key, run: task.run, deadlineMs: plan.settings.manualDeadlineMs });
        } else {
          this.commands.push({ type: 'runCollection', phase, collection: collection.key, run: task.run });
        }
      }
    }
    return !Object.values(tasks).every((task) => FINISHED.includes(task.status));
  }

  /** The status the request shows for its collections: in error or paused once nothing runs. */
  private syncStatus(phase: Phase): void {
    const state = this.state;
    const entries = Object.entries(state.tasks[phase]);
    const running = entries.some(([, task]) => task.status === 'in_processing');
    const failed = entries.find(([, task]) => task.status === 'error');
    const waiting = entries.find(([, task]) => task.status === 'awaiting_input' || task.status === 'paused');
    let status: PrivacyRequestStatus = 'in_processing';
    let stoppedAt: { step: Phase; collection: string } | null = null;
    if (failed && !running) [status, stoppedAt] = ['error', { step: phase, collection: failed[0] }];
    else if (waiting && !running) [status, stoppedAt] = ['paused', { step: phase, collection: waiting[0] }];
    if (status === state.status && stoppedAt?.collection === state.stoppedAt?.collection) return;
    const audit: AuditEntry | undefined =
      status === 'error' ? { eventKey: `error:${phase}:${failed![0]}:${failed![1].run}`, action: 'error', userId: 'system', message: `Collection ${failed![0]} failed during ${phase}` } : undefined;
    this.transition({ status, stoppedAt }, audit);
  }

  private transition(transition: TransitionRecord, audit?: AuditEntry): void {
    const state = this.state;
    state.status = transition.status;
    if (transition.stoppedAt !== undefined) state.stoppedAt = transition.stoppedAt;
    this.commands.push({ type: 'record', at: this.at, transition, ...(audit ? { audit } : {}) });
  }

  private resolveEffect(effect: string): void {
    const state = this.state;
    for (const [ack, pending] of Object.entries(state.pendingEffects)) {
      if (pending !== effect) continue;
      delete state.pendingEffects[ack];
      this.resolved.push(Number(ack));
    }
  }

  private finishComplete(): void {
    const state = this.state;
    const warnings = state.warnings;
    if (warnings.length) {
      const message = warnings.map((warning) => `${warning.phase} ${warning.collection}: ${warning.reason}`).join('; ');
      this.commands.push({ type: 'record', at: this.at, audit: { eventKey: 'warnings', action: 'warning', userId: 'system', message: `Complete with ${warnings.length} warning${warnings.length > 1 ? 's' : ''}: ${message}` } });
    }
    this.finish('complete', {
      transition: { status: 'complete', stoppedAt: null, ...(warnings.length ? { warnings } : {}) },
      audit: { eventKey: 'finished', action: 'finished', userId: 'system', message: null },
    });
  }

  private finishCanceled(): void {
    const cancel = this.state.cancel!;
    this.finish('canceled', { transition: { status: 'canceled', stoppedAt: null }, audit: { eventKey: 'canceled', action: 'canceled', userId: cancel.by, message: cancel.reason } });
  }

  private finish(outcome: 'complete' | 'denied' | 'canceled' | 'error', how: { record?: boolean; transition?: TransitionRecord; audit?: AuditEntry }): void {
    const state = this.state;
    if (how.record !== false && how.transition) this.transition(how.transition, how.audit);
    state.stage = 'finished';
    state.outcome = outcome;
    state.draining = false;
    // Every effect still awaited is settled by the end: the callers learn the final status.
    for (const ack of Object.keys(state.pendingEffects)) this.resolved.push(Number(ack));
    state.pendingEffects = {};
    for (const phase of ['access', 'erasure'] as const) {
      for (const [collection, task] of Object.entries(state.tasks[phase])) {
        if (task.status === 'awaiting_input') this.commands.push({ type: 'cancelTimer', timer: manualTimer(phase, collection, task.run) });
      }
    }
    this.commands.push({ type: 'finish', outcome });
  }
}
