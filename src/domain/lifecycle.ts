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
import { dueAt, extendedDueAt, REGIMES, type DeadlineOptions, type Regulation } from './deadlines.js';
import type { ActionType, ConsentPreference } from './policies.js';
import type { PrivacyRequestStatus } from './privacy-requests.js';

/** The phases that run collections (consent sends to vendors once, after them). */
export type Phase = Exclude<ActionType, 'consent'>;

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
  /**
   * The collections of one connection started at the same moment run in one activity
   * (DSRFLOW_COLLECTION_BATCHES; docs/decisions.md, "Collections in batches"). Absent in plans made
   * before batches existed: those requests keep one activity per collection.
   */
  batchCollections?: boolean;
  requireApproval: boolean;
  manualDeadlineMs: number;
  manualDeadlineAction: 'skip' | 'wait';
  historyEventLimit: number;
  accessPackageExpiryMs?: number;
  /** Deadlines: the time zone days are counted in, reminder lead times, and overrides of the law's periods (DSRFLOW_*). */
  deadlines?: DeadlineSettings;
  /** How long a verification code stays valid (DSRFLOW_VERIFICATION_TTL). */
  verificationTtlMs?: number;
  /** Webhook deliveries: the longest wait between attempts, and how long to keep trying. */
  webhookRetry?: { maxIntervalMs: number; retryForMs: number };
}

export interface DeadlineSettings {
  timeZone: string;
  /** Reminders this long before the due date (default 7 days and 1 day). */
  reminderLeadsMs: number[];
  periodOverrideMs: number | null;
  extensionOverrideMs: number | null;
}

export const DEFAULT_DEADLINE_SETTINGS: DeadlineSettings = { timeZone: 'UTC', reminderLeadsMs: [7 * 86_400_000, 86_400_000], periodOverrideMs: null, extensionOverrideMs: null };
export const DEFAULT_VERIFICATION_TTL_MS = 24 * 60 * 60 * 1000;

/** What the request's row says about its deadline when it is planned (the API set it at receipt). */
export interface PlannedDeadline {
  regulation: Regulation;
  customDays: number | null;
  receivedAt: string;
  dueAt: string;
  extendedDueAt: string | null;
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
  /** Absent for requests planned before deadlines existed. */
  deadline?: PlannedDeadline | null;
  /** The policy asks the person to prove who they are before anything runs. */
  requiresVerification?: boolean;
  /** The policy has a consent rule: this preference goes to vendors once access and erasure are done. */
  consentPreference?: ConsentPreference;
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
  phase: ActionType;
  collection: string;
  reason: string;
}

/** What an audit row says happened to the request as a whole. */
export const AUDIT_LOG_ACTIONS = [
  'approved',
  'denied',
  'finished',
  'canceled',
  'error',
  'retried',
  'erasure_confirmed',
  'manual_input',
  'action_rejected',
  'warning',
  'verification_sent',
  'verified',
  'extended',
  'due_soon',
  'overdue',
  'legal_hold_placed',
  'legal_hold_lifted',
  'consent_sent',
  'consent_failed',
  'duplicate',
  /** Someone read the data subject's identity (the console's reveal, GET …/identity). */
  'identity_revealed',
] as const;
export type AuditLogAction = (typeof AUDIT_LOG_ACTIONS)[number];

export interface AuditEntry {
  eventKey: string;
  action: AuditLogAction;
  userId: string | null;
  message: string | null;
}

export type Stage = 'planning' | 'verification' | 'review' | 'access' | 'package' | 'erasure_confirmation' | 'erasure' | 'consent' | 'finished';

export interface LifecycleState {
  /**
   * The shape of this state. A run continued as new receives the state of the run before, which
   * may have run older code: a change to the shape raises this number, and `started` upgrades an
   * older state first (docs/decisions.md).
   */
  version: typeof STATE_VERSION;
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
  /** Something other than a collection is in flight: the erasure preview, the access package, or consent being sent. */
  busy: 'preview' | 'package' | 'consent' | null;
  /** The consent step ran (its preference sent, or given up with a warning). Absent before consent rules existed. */
  consentSent?: boolean;
  /** Accepted retries and refused actions so far: they number their audit rows. */
  retries: number;
  rejections: number;
  /** Per phase, each collection's task, by its position in the plan. */
  tasks: Record<Phase, Task[]>;
  /** Per phase, how many tasks have each status: what the request shows, without looking at every task. */
  counts: Record<Phase, Record<TaskStatus, number>>;
  /** Per phase, the positions of pending tasks whose upstream tasks are done, lowest first: what starts next. */
  ready: Record<Phase, number[]>;
  warnings: Warning[];
  /** The history is long: start nothing new, then continue as new. */
  draining: boolean;
  /** Accepted actions whose effect is not recorded yet, by acknowledgement number. */
  pendingEffects: Record<string, string>;
  nextAck: number;
  outcome: 'complete' | 'denied' | 'canceled' | 'error' | null;
  /** When the request is due, and its one extension. Null before the plan (or for requests from before deadlines). */
  deadline: DeadlineState | null;
  /** The person's identity check, when the policy asks for one. */
  verification: { status: 'pending' | 'verified' | 'failed'; expiresAt: string; issued: number } | null;
  legalHold: { reason: string; by: string | null } | null;
  /** Legal holds placed so far: they number their audit rows. */
  holds: number;
  /** Notices (webhook events, messages) so far: they number their keys. */
  notices: number;
}

export interface DeadlineState {
  regulation: Regulation;
  customDays: number | null;
  /** When the period started: receipt, or verification where the time to verify does not count. */
  periodStart: string;
  dueAt: string;
  extendedDueAt: string | null;
  extension: { reason: string; by: string | null } | null;
  /** Reminder lead times already given for the current due date. */
  reminded: number[];
  overdue: boolean;
}

/** What other systems hear (`request.<event>` webhooks). */
export const NOTICE_EVENTS = ['received', 'verified', 'approved', 'denied', 'paused', 'errored', 'completed', 'extended', 'due_soon', 'overdue'] as const;
export type NoticeEvent = (typeof NOTICE_EVENTS)[number];
/** What the data subject hears. */
export const MESSAGE_TYPES = ['receipt', 'verification_code', 'extension', 'denial', 'completion'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

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
  /** The consent step's outcome: per SaaS connection with consent requests, whether its config had one for the preference. */
  | { type: 'consentPropagated'; at: string; results: { connectionKey: string; sent: boolean }[] }
  | { type: 'consentFailed'; at: string; message: string }
  | { type: 'historyLimitReached'; at: string };

export interface TransitionRecord {
  status: PrivacyRequestStatus;
  stoppedAt?: { step: Phase; collection: string } | null;
  reviewedBy?: string | null;
  denialReason?: string | null;
  denialReasonCode?: string | null;
  warnings?: Warning[];
}

/** What the lifecycle decided besides the status (src/db/privacy-requests.ts `recordRequestFacts`). */
export interface RequestFactsRecord {
  dueAt?: string;
  extension?: { extendedDueAt: string; reason: string; by: string | null; at: string };
  identityVerifiedAt?: string;
  legalHold?: { held: boolean; reason: string | null };
}

export type LifecycleCommand =
  | { type: 'plan' }
  /** Sends the preference to every SaaS connection whose saas_config has consent_requests. */
  | { type: 'propagateConsent'; preference: ConsentPreference }
  /** Bookkeeping, carried out one after the other in this order: a status, an audit row, a task row, an error in the log. */
  | { type: 'record'; at: string; transition?: TransitionRecord; audit?: AuditEntry; facts?: RequestFactsRecord }
  /** A webhook event for subscribers, written to the outbox with the bookkeeping before it. Never identity values. */
  | { type: 'notify'; at: string; key: string; event: NoticeEvent; data: Record<string, string | number | boolean | null> }
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
  | { type: 'searchAttributes'; policyKey: string; actionTypes: ActionType[]; dueAt?: string | null }
  /** A message to the data subject (sent alongside; the activity fills in what the request row says). */
  | { type: 'sendMessage'; key: string; message: MessageType; variables: Record<string, string | null> }
  /** A new verification code, valid until `expiresAt`, sent to the person. */
  | { type: 'issueVerificationCode'; issue: number; expiresAt: string }
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
/** Deadline timers carry the due date they were set for: an extension's new timers never meet the old ones. */
export const deadlineTimer = (due: string, kind: 'overdue' | number) => `deadline|${due}|${kind === 'overdue' ? 'overdue' : `reminder:${kind}`}`;
export const VERIFICATION_TIMER = 'verification|expiry';

/** The due date that counts: the extended one once extended. */
export const effectiveDueAt = (deadline: DeadlineState | null): string | null => (deadline ? (deadline.extendedDueAt ?? deadline.dueAt) : null);

const noCounts = (): Record<TaskStatus, number> => Object.fromEntries(TASK_STATUSES.map((status) => [status, 0])) as Record<TaskStatus, number>;

/** Where each collection stands in the plan, and what it waits for and unblocks, per phase. */
interface PlanIndex {
  position: Map<string, number>;
  upstream: Record<Phase, number[][]>;
  downstream: Record<Phase, number[][]>;
}

/** Built once per plan object (a continued run builds it again from its copy). */
const indexes = new WeakMap<PlannedRequest, PlanIndex>();
function indexOf(plan: PlannedRequest): PlanIndex {
  let index = indexes.get(plan);
  if (!index) {
    const position = new Map(plan.collections.map((collection, i) => [collection.key, i]));
    const edges = (phase: Phase) => plan.collections.map((collection) => (phase === 'access' ? collection.upstream : collection.erasureUpstream).map((key) => position.get(key)!));
    const upstream = { access: edges('access'), erasure: edges('erasure') };
    const downstream = { access: [] as number[][], erasure: [] as number[][] };
    for (const phase of ['access', 'erasure'] as const) {
      downstream[phase] = plan.collections.map(() => []);
      upstream[phase].forEach((before, i) => before.forEach((j) => downstream[phase][j]!.push(i)));
    }
    index = { position, upstream, downstream };
    indexes.set(plan, index);
  }
  return index;
}

/** The task of a collection in a phase, by its key (undefined before the plan). */
export function taskOf(state: LifecycleState, phase: Phase, collection: string): Task | undefined {
  const position = state.plan ? indexOf(state.plan).position.get(collection) : undefined;
  return position === undefined ? undefined : state.tasks[phase][position];
}

const deadlineFrom = (planned: PlannedDeadline): DeadlineState => ({
  regulation: planned.regulation,
  customDays: planned.customDays,
  periodStart: planned.receivedAt,
  dueAt: planned.dueAt,
  extendedDueAt: planned.extendedDueAt,
  extension: null,
  reminded: [],
  overdue: false,
});

/** 2: deadlines, verification, legal hold and notices. */
export const STATE_VERSION = 2;

/** A state handed over by an older run, in today's shape. */
export function upgradeState(state: LifecycleState | (Omit<LifecycleState, 'version' | 'deadline' | 'verification' | 'legalHold' | 'holds' | 'notices'> & { version: number })): LifecycleState {
  if (state.version === STATE_VERSION) return state as LifecycleState;
  if (state.version === 1) return { ...state, version: STATE_VERSION, deadline: null, verification: null, legalHold: null, holds: 0, notices: 0 };
  throw new Error(`A lifecycle state of version ${String(state.version)} cannot be continued by code of version ${STATE_VERSION}`);
}

/** `deadline`: as the API set it at receipt (the workflow's input), so that it holds before the plan. */
export function initialState(privacyRequestId: string, deadline?: PlannedDeadline | null): LifecycleState {
  return {
    version: STATE_VERSION,
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
    tasks: { access: [], erasure: [] },
    counts: { access: noCounts(), erasure: noCounts() },
    ready: { access: [], erasure: [] },
    warnings: [],
    draining: false,
    pendingEffects: {},
    nextAck: 1,
    outcome: null,
    deadline: deadline ? deadlineFrom(deadline) : null,
    verification: null,
    legalHold: null,
    holds: 0,
    notices: 0,
  };
}

const FINISHED: readonly TaskStatus[] = ['complete', 'skipped'];

/** Nothing in flight: no plan, preview, package or collection step running. A run may hand over now. */
export function isQuiet(state: LifecycleState): boolean {
  if (state.planning === 'running' || state.busy) return false;
  return state.counts.access.in_processing === 0 && state.counts.erasure.in_processing === 0;
}
const isFinal = (state: LifecycleState) => state.stage === 'finished';
const phaseOf = (stage: Stage): Phase | undefined => (stage === 'access' || stage === 'erasure' ? stage : undefined);

/**
 * One step of the machine. The input state is not changed: the answer shares what did not
 * change with it, and copies what did (a request over thousands of collections takes thousands
 * of steps, so each step costs what it changes, not the size of the request).
 */
export function step(previous: LifecycleState, event: LifecycleEvent): StepResult {
  const machine = new Step(event.type === 'started' ? upgradeState(previous) : previous, event.at);
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
  /** What this step copied already (task lists, tasks, ready lists), so that the previous state stays as it was. */
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
      tasks: { ...previous.tasks },
      counts: { access: { ...previous.counts.access }, erasure: { ...previous.counts.erasure } },
      ready: { ...previous.ready },
      warnings: [...previous.warnings],
      pendingEffects: { ...previous.pendingEffects },
      deadline: previous.deadline && { ...previous.deadline, reminded: [...previous.deadline.reminded] },
      verification: previous.verification && { ...previous.verification },
    };
  }

  private get index(): PlanIndex {
    return indexOf(this.state.plan!);
  }

  private keyAt(position: number): string {
    return this.state.plan!.collections[position]!.key;
  }

  private positionOf(collection: string): number | undefined {
    return this.state.plan ? this.index.position.get(collection) : undefined;
  }

  /** The task, copied once in this step so that changing it leaves the previous state alone. */
  private mutable(phase: Phase, position: number): Task {
    if (!this.copied.has(phase)) {
      this.state.tasks[phase] = this.state.tasks[phase].slice();
      this.copied.add(phase);
    }
    const tasks = this.state.tasks[phase];
    if (!this.copied.has(`${phase}:${position}`)) {
      tasks[position] = { ...tasks[position]! };
      this.copied.add(`${phase}:${position}`);
    }
    return tasks[position]!;
  }

  /** Changes a task's status, keeping the counts and the ready list with it. */
  private setStatus(phase: Phase, position: number, status: TaskStatus): Task {
    const task = this.mutable(phase, position);
    const counts = this.state.counts[phase];
    counts[task.status] -= 1;
    counts[status] += 1;
    task.status = status;
    if (FINISHED.includes(status)) {
      for (const next of this.index.downstream[phase][position]!) this.readyIfUnblocked(phase, next);
    } else if (status === 'pending') {
      this.readyIfUnblocked(phase, position);
    }
    return task;
  }

  private readyIfUnblocked(phase: Phase, position: number): void {
    const tasks = this.state.tasks[phase];
    if (tasks[position]!.status !== 'pending' || !this.index.upstream[phase][position]!.every((before) => FINISHED.includes(tasks[before]!.status))) return;
    if (!this.copied.has(`ready:${phase}`)) {
      this.state.ready[phase] = this.state.ready[phase].slice();
      this.copied.add(`ready:${phase}`);
    }
    const ready = this.state.ready[phase];
    let low = 0;
    let high = ready.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (ready[middle]! < position) low = middle + 1;
      else high = middle;
    }
    if (ready[low] !== position) ready.splice(low, 0, position);
  }

  /** The next ready task, lowest position first. */
  private takeReady(phase: Phase): number | undefined {
    if (!this.state.ready[phase].length) return undefined;
    if (!this.copied.has(`ready:${phase}`)) {
      this.state.ready[phase] = this.state.ready[phase].slice();
      this.copied.add(`ready:${phase}`);
    }
    return this.state.ready[phase].shift();
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
        this.commands.push({ type: 'searchAttributes', policyKey: event.plan.policyKey, actionTypes: event.plan.actionTypes, dueAt: event.plan.deadline?.extendedDueAt ?? event.plan.deadline?.dueAt ?? null });
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
        const position = this.running(event.phase, event.collection, event.run);
        if (position === undefined) return;
        this.setStatus(event.phase, position, 'error');
        const { connectionKey } = state.plan!.collections[position]!;
        this.commands.push({ type: 'recordCollectionError', at: this.at, phase: event.phase, collection: event.collection, connectionKey, run: event.run, message: event.message, category: event.category });
        this.recordTask(event.phase, position, { error: { message: event.message, category: event.category } });
        break;
      }
      case 'manualOpened':
        this.manualOpened(event);
        break;
      case 'manualAnswerStored': {
        const position = this.running(event.phase, event.collection, event.run);
        if (position === undefined || !state.tasks[event.phase][position]!.answer) return;
        const task = this.mutable(event.phase, position);
        const rowCount = task.answer!.phase === 'access' ? task.answer!.rows.length : task.answer!.rowCount;
        delete task.answer;
        this.setStatus(event.phase, position, 'complete');
        this.recordTask(event.phase, position, { rowCount });
        this.resolveEffect(`input:${event.phase}:${event.collection}:${event.run}`);
        break;
      }
      case 'timerFired':
        if (event.timer.startsWith('deadline|')) this.deadlineTimerFired(event.timer);
        else if (event.timer === VERIFICATION_TIMER) {
          if (state.stage === 'verification' && state.verification?.status === 'pending' && !state.cancel) {
            this.verificationOutcome('failed', 'system', `the identity was not verified before ${state.verification.expiresAt}`);
          }
        } else this.timerFired(event.timer);
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
      case 'consentPropagated': {
        if (state.busy !== 'consent') return;
        state.busy = null;
        state.consentSent = true;
        const preference = state.plan!.consentPreference!;
        const sent = event.results.filter((result) => result.sent).map((result) => result.connectionKey);
        const without = event.results.filter((result) => !result.sent).map((result) => result.connectionKey);
        const message = !event.results.length
          ? `${preference}: no SaaS connection takes consent requests`
          : [sent.length ? `${preference} sent to ${sent.join(', ')}` : '', without.length ? `no ${preference} request in ${without.join(', ')}` : ''].filter(Boolean).join('; ');
        this.commands.push({ type: 'record', at: this.at, audit: { eventKey: 'consent', action: 'consent_sent', userId: 'system', message } });
        break;
      }
      case 'consentFailed':
        if (state.busy !== 'consent') return;
        state.busy = null;
        state.consentSent = true;
        // The vendors were retried for a while; the request still completes, saying what it could not do.
        this.warn('consent', 'consent', event.message);
        this.commands.push({ type: 'record', at: this.at, audit: { eventKey: 'consent', action: 'consent_failed', userId: 'system', message: event.message } });
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
        state.tasks[phase].forEach((task, position) => {
          if (task.status === 'awaiting_input' && task.deadlineAt) {
            this.commands.push({ type: 'startTimer', timer: manualTimer(phase, this.keyAt(position), task.run), ms: Math.max(0, Date.parse(task.deadlineAt) - Date.parse(this.at)) });
          }
        });
      }
      this.armDeadline();
      if (state.stage === 'verification' && state.verification) this.startTimer(VERIFICATION_TIMER, state.verification.expiresAt);
      return;
    }
    if (state.planning === 'running' && state.plan === null) this.commands.push({ type: 'plan' });
  }

  private afterPlan(): void {
    const state = this.state;
    const plan = state.plan!;
    const pending = (): Task[] => plan.collections.map(() => ({ status: 'pending', run: 1 }));
    // A consent-only policy reads nothing: it only tells vendors.
    const reads = plan.actionTypes.includes('access') || plan.actionTypes.includes('erasure');
    state.tasks = { access: reads ? pending() : [], erasure: plan.actionTypes.includes('erasure') ? pending() : [] };
    for (const phase of ['access', 'erasure'] as const) {
      state.counts[phase] = { ...noCounts(), pending: state.tasks[phase].length };
      state.ready[phase] = state.tasks[phase].flatMap((_, position) => (this.index.upstream[phase][position]!.length === 0 ? [position] : []));
    }
    for (const phase of ['access', 'erasure'] as const) {
      if (!state.tasks[phase].length) continue;
      const collections = plan.collections.map((collection) => ({
        collection: collection.key,
        connectionKey: collection.connectionKey,
        manual: collection.manual,
        upstream: phase === 'access' ? collection.upstream : collection.erasureUpstream,
      }));
      this.commands.push({ type: 'recordTasks', at: this.at, phase, collections });
    }
    this.receive();
    if (state.cancel) return;
    if (plan.requiresVerification && !state.verification) {
      this.enterVerification();
      return;
    }
    this.afterVerification();
  }

  /** The request's deadline starts to run, and the person and subscribers hear the request arrived. */
  private receive(): void {
    const state = this.state;
    const planned = state.plan!.deadline;
    if (planned && !state.deadline) state.deadline = deadlineFrom(planned);
    // The timers need the worker's settings, which come with the plan; so does an extension asked for before it.
    if (state.deadline?.extension && !state.deadline.extendedDueAt) this.applyExtension();
    else this.armDeadline();
    this.notice('received');
    this.message('receipt', {});
  }

  private enterVerification(): void {
    const state = this.state;
    const ttl = state.plan!.settings.verificationTtlMs ?? DEFAULT_VERIFICATION_TTL_MS;
    const expiresAt = new Date(Date.parse(this.at) + ttl).toISOString();
    state.stage = 'verification';
    state.verification = { status: 'pending', expiresAt, issued: 1 };
    this.transition(
      { status: 'identity_unverified' },
      { eventKey: 'verification_sent:1', action: 'verification_sent', userId: 'system', message: `a verification code was sent; it expires at ${expiresAt}` },
    );
    this.commands.push({ type: 'issueVerificationCode', issue: 1, expiresAt });
    this.startTimer(VERIFICATION_TIMER, expiresAt);
  }

  /** Verified (or nothing to verify): review when required, else approved. */
  private afterVerification(): void {
    const state = this.state;
    const plan = state.plan!;
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
      this.deny({ by: review.by, reason: review.reason });
      return;
    }
    this.transition({ status: 'approved', reviewedBy: review.by });
    this.enterAccess();
  }

  private enterAccess(): void {
    this.state.stage = 'access';
    this.transition({ status: 'in_processing', stoppedAt: null });
  }

  // ---- Deadlines, verification and notices ---------------------------------------------------

  private deadlineOptions(): DeadlineOptions {
    const settings = this.state.plan?.settings.deadlines ?? DEFAULT_DEADLINE_SETTINGS;
    return { timeZone: settings.timeZone, customDays: this.state.deadline?.customDays ?? null, periodOverrideMs: settings.periodOverrideMs, extensionOverrideMs: settings.extensionOverrideMs };
  }

  private startTimer(timer: string, at: string): void {
    this.commands.push({ type: 'startTimer', timer, ms: Math.max(0, Date.parse(at) - Date.parse(this.at)) });
  }

  /** The timers of the current due date: reminders still ahead, and the moment it passes. */
  private armDeadline(): void {
    const state = this.state;
    const deadline = state.deadline;
    if (!deadline || isFinal(state)) return;
    const due = effectiveDueAt(deadline)!;
    const leads = state.plan?.settings.deadlines?.reminderLeadsMs ?? DEFAULT_DEADLINE_SETTINGS.reminderLeadsMs;
    for (const lead of leads) {
      const fireAt = Date.parse(due) - lead;
      if (deadline.reminded.includes(lead) || fireAt <= Date.parse(this.at)) continue;
      this.startTimer(deadlineTimer(due, lead), new Date(fireAt).toISOString());
    }
    if (!deadline.overdue) this.startTimer(deadlineTimer(due, 'overdue'), due);
  }

  private disarmDeadline(): void {
    const deadline = this.state.deadline;
    if (!deadline) return;
    const due = effectiveDueAt(deadline)!;
    const leads = this.state.plan?.settings.deadlines?.reminderLeadsMs ?? DEFAULT_DEADLINE_SETTINGS.reminderLeadsMs;
    for (const lead of leads) if (!deadline.reminded.includes(lead)) this.commands.push({ type: 'cancelTimer', timer: deadlineTimer(due, lead) });
    if (!deadline.overdue) this.commands.push({ type: 'cancelTimer', timer: deadlineTimer(due, 'overdue') });
  }

  private deadlineTimerFired(timer: string): void {
    const deadline = this.state.deadline;
    const [, due, kind] = timer.split('|');
    if (!deadline || isFinal(this.state) || due !== effectiveDueAt(deadline)) return;
    if (kind === 'overdue') {
      if (deadline.overdue) return;
      deadline.overdue = true;
      this.commands.push({ type: 'record', at: this.at, audit: { eventKey: `overdue:${due}`, action: 'overdue', userId: 'system', message: `the request was due at ${due} and is not finished (status ${this.state.status})` } });
      this.notice('overdue');
      return;
    }
    const lead = Number(kind!.slice('reminder:'.length));
    if (deadline.reminded.includes(lead)) return;
    deadline.reminded.push(lead);
    this.commands.push({ type: 'record', at: this.at, audit: { eventKey: `due_soon:${due}:${lead}`, action: 'due_soon', userId: 'system', message: `the request is due at ${due} (status ${this.state.status})` } });
    this.notice('due_soon', { lead_time_seconds: Math.round(lead / 1000) });
  }

  /** A webhook event for subscribers: ids, status and times, never identity values. */
  private notice(event: NoticeEvent, extra: Record<string, string | number | boolean | null> = {}): void {
    const state = this.state;
    state.notices += 1;
    this.commands.push({
      type: 'notify',
      at: this.at,
      key: `${event}:${state.notices}`,
      event,
      data: {
        status: state.status,
        policy_key: state.plan?.policyKey ?? null,
        regulation: state.deadline?.regulation ?? null,
        due_at: effectiveDueAt(state.deadline),
        ...extra,
      },
    });
  }

  private message(message: MessageType, variables: Record<string, string | null>): void {
    const state = this.state;
    state.notices += 1;
    this.commands.push({ type: 'sendMessage', key: `${message}:${state.notices}`, message, variables });
  }

  private verificationOutcome(outcome: 'verified' | 'failed', userId: string | null, why: string): void {
    const state = this.state;
    this.commands.push({ type: 'cancelTimer', timer: VERIFICATION_TIMER });
    if (outcome === 'failed') {
      state.verification!.status = 'failed';
      this.deny({ by: userId ?? 'system', reason: why, code: 'insuf_verification' });
      return;
    }
    state.verification!.status = 'verified';
    const facts: RequestFactsRecord = { identityVerifiedAt: this.at };
    const deadline = state.deadline;
    if (deadline && !REGIMES[deadline.regulation].verificationCounts && !deadline.extension) {
      // The period runs from the verification (docs/decisions.md, "Deadlines").
      this.disarmDeadline();
      deadline.periodStart = this.at;
      deadline.dueAt = dueAt(deadline.regulation, this.at, this.deadlineOptions()).toISOString();
      deadline.reminded = [];
      facts.dueAt = deadline.dueAt;
      this.armDeadline();
    }
    this.commands.push({ type: 'record', at: this.at, facts, audit: { eventKey: 'verified', action: 'verified', userId, message: why } });
    this.notice('verified');
    this.afterVerification();
  }

  /** Denied: by a reviewer, or for want of verification. The person is told why. */
  private deny(how: { by: string; reason: string | null; code?: string }): void {
    this.finish('denied', {
      transition: { status: 'denied', reviewedBy: how.by, denialReason: how.reason, ...(how.code ? { denialReasonCode: how.code } : {}) },
      // A reviewer's denial has its audit row already; a failed verification gets its own.
      audit: how.code ? { eventKey: 'verification_failed', action: 'denied', userId: how.by, message: how.reason } : undefined,
    });
    this.notice('denied', { denial_reason_code: how.code ?? null });
    this.message('denial', { reason: how.reason });
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
      case 'extend':
        return this.extend(raw, payload as ActionPayload<'extend'>);
      case 'verifyIdentity': {
        const { outcome, method, user_id: userId } = payload as ActionPayload<'verifyIdentity'>;
        if (state.stage !== 'verification' || state.verification?.status !== 'pending' || state.cancel) {
          return this.refuse(action, raw, `verifyIdentity refused: the request is not awaiting identity verification (status ${state.status})`);
        }
        this.accept(null, null);
        this.verificationOutcome(outcome, userId ?? null, outcome === 'verified' ? `identity verified${method ? ` by ${method}` : ''}` : `identity verification failed${method ? ` (${method})` : ''}`);
        return;
      }
      case 'placeLegalHold': {
        if (state.legalHold) return this.refuse(action, raw, `placeLegalHold refused: the request is already on legal hold (${state.legalHold.reason})`);
        const { user_id: userId, reason } = payload as ActionPayload<'placeLegalHold'>;
        state.legalHold = { reason, by: userId ?? null };
        state.holds += 1;
        this.accept(null, null);
        this.commands.push({ type: 'record', at: this.at, facts: { legalHold: { held: true, reason } }, audit: { eventKey: `legal_hold_placed:${state.holds}`, action: 'legal_hold_placed', userId: userId ?? null, message: reason } });
        return;
      }
      case 'liftLegalHold': {
        if (!state.legalHold) return this.refuse(action, raw, 'liftLegalHold refused: the request is not on legal hold');
        const { user_id: userId, reason } = payload as ActionPayload<'liftLegalHold'>;
        state.legalHold = null;
        this.accept(null, null);
        this.commands.push({ type: 'record', at: this.at, facts: { legalHold: { held: false, reason: null } }, audit: { eventKey: `legal_hold_lifted:${state.holds}`, action: 'legal_hold_lifted', userId: userId ?? null, message: reason ?? null } });
        return;
      }
    }
  }

  /** The one extension: before the first due date, where the law allows one. */
  private extend(raw: unknown, payload: ActionPayload<'extend'>): void {
    const state = this.state;
    const deadline = state.deadline;
    if (!deadline) return this.refuse('extend', raw, 'extend refused: the request has no due date');
    if (deadline.extension) return this.refuse('extend', raw, `extend refused: the due date was already extended once${deadline.extendedDueAt ? `, to ${deadline.extendedDueAt}` : ''}`);
    if (Date.parse(this.at) >= Date.parse(deadline.dueAt)) return this.refuse('extend', raw, `extend refused: the due date ${deadline.dueAt} has passed`);
    if (!REGIMES[deadline.regulation].extension) return this.refuse('extend', raw, `extend refused: ${REGIMES[deadline.regulation].name} allows no extension`);
    deadline.extension = { reason: payload.reason, by: payload.user_id ?? null };
    if (!state.plan) {
      // Applied once the plan brings the worker's deadline settings; the caller hears back then.
      this.accept('extension', null);
      return;
    }
    this.accept(null, null);
    this.applyExtension();
  }

  /** The accepted extension takes effect: the new due date, its timers, the audit row and the notices. */
  private applyExtension(): void {
    const deadline = this.state.deadline!;
    const { reason, by } = deadline.extension!;
    const extended = extendedDueAt(deadline.regulation, deadline.periodStart, this.deadlineOptions())!;
    this.disarmDeadline();
    deadline.extendedDueAt = extended.toISOString();
    deadline.reminded = [];
    deadline.overdue = false;
    this.resolveEffect('extension');
    const payload = { reason };
    this.commands.push({
      type: 'record',
      at: this.at,
      facts: { extension: { extendedDueAt: deadline.extendedDueAt, reason, by, at: this.at } },
      audit: { eventKey: 'extended', action: 'extended', userId: by, message: `due ${deadline.extendedDueAt} instead of ${deadline.dueAt}: ${payload.reason}` },
    });
    this.armDeadline();
    this.notice('extended', { extended_due_at: deadline.extendedDueAt });
    this.message('extension', { extended_due_at: deadline.extendedDueAt, reason: payload.reason });
  }

  private manualAnswer(action: 'manualInput' | 'erasureConfirm', raw: unknown, payload: ActionPayload<'manualInput'> | ActionPayload<'erasureConfirm'>): void {
    const state = this.state;
    const phase: Phase = action === 'manualInput' ? 'access' : 'erasure';
    // Manual collections take an answer from the moment their step starts (it may still be
    // opening) until one was taken.
    const waiting =
      state.stage === phase && !state.cancel
        ? state.plan!.collections.filter((collection, position) => {
            const task = state.tasks[phase][position]!;
            return collection.manual && ['in_processing', 'awaiting_input', 'paused'].includes(task.status) && !task.answer;
          })
        : [];
    const wanted = payload.collection ?? waiting[0]?.key;
    const collection = waiting.find((candidate) => candidate.key === wanted);
    if (!collection) {
      const answered = wanted !== undefined && taskOf(state, phase, wanted)?.answer !== undefined;
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
    const position = this.positionOf(collection.key)!;
    const task = this.mutable(phase, position);
    const userId = payload.user_id ?? null;
    task.answer =
      action === 'manualInput'
        ? { phase: 'access', rows: (payload as ActionPayload<'manualInput'>).rows, userId }
        : { phase: 'erasure', rowCount: (payload as ActionPayload<'erasureConfirm'>).row_count, userId };
    const message = task.answer.phase === 'access' ? `${task.answer.rows.length} rows for ${collection.key}` : `${task.answer.rowCount} rows masked in ${collection.key}`;
    this.accept(`input:${phase}:${collection.key}:${task.run}`, { eventKey: `manual_input:${phase}:${collection.key}:${task.run}`, action: 'manual_input', userId, message });
    if (task.status !== 'in_processing') this.storeAnswer(phase, position);
  }

  private storeAnswer(phase: Phase, position: number): void {
    const collection = this.keyAt(position);
    const waited = this.state.tasks[phase][position]!;
    if (waited.status === 'awaiting_input') this.commands.push({ type: 'cancelTimer', timer: manualTimer(phase, collection, waited.run) });
    const task = this.setStatus(phase, position, 'in_processing');
    this.recordTask(phase, position, {});
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
    state.tasks[phase].forEach((current, position) => {
      if (current.status !== 'error') return;
      const task = this.mutable(phase, position);
      task.run += 1;
      delete task.deadlineAt;
      delete task.answer;
      this.setStatus(phase, position, 'pending');
      // The last error stays on the task: what the collection recovered from.
      this.recordTask(phase, position, {});
    });
  }

  // ---- Collections ---------------------------------------------------------------------------

  /** The position of the collection's task when it is this run's and in processing: what a result may apply to. */
  private running(phase: Phase, collection: string, run: number): number | undefined {
    const position = this.positionOf(collection);
    const task = position === undefined ? undefined : this.state.tasks[phase][position];
    return task && task.run === run && task.status === 'in_processing' ? position : undefined;
  }

  private recordTask(phase: Phase, position: number, extra: { rowCount?: number | null; error?: { message: string; category: string | null } | null; skippedReason?: string | null }): void {
    const { answer: _answer, ...shown } = this.state.tasks[phase][position]!;
    this.commands.push({ type: 'recordTask', at: this.at, phase, collection: this.keyAt(position), task: shown, ...extra });
  }

  private collectionSucceeded(event: Extract<LifecycleEvent, { type: 'collectionSucceeded' }>): void {
    const position = this.running(event.phase, event.collection, event.run);
    if (position === undefined || this.state.plan!.collections[position]!.manual) return;
    this.setStatus(event.phase, position, event.skipped ? 'skipped' : 'complete');
    if (event.warning) this.warn(event.phase, event.collection, event.warning);
    // The collection step wrote its task's completion itself, with its rows, in its own transaction.
  }

  /** A collection skipped while the person's data is (or may be) still there: no answer in time, or erasure that could not address it. */
  private warn(phase: ActionType, collection: string, reason: string): void {
    this.state.warnings.push({ phase, collection, reason });
  }

  private manualOpened(event: Extract<LifecycleEvent, { type: 'manualOpened' }>): void {
    const state = this.state;
    const position = this.running(event.phase, event.collection, event.run);
    if (position === undefined || state.tasks[event.phase][position]!.deadlineAt !== undefined || !state.plan!.collections[position]!.manual) return;
    const task = this.mutable(event.phase, position);
    if (!event.needed) {
      // Nothing for a person to do; an answer that arrived meanwhile has nothing to apply to.
      if (task.answer) {
        delete task.answer;
        this.resolveEffect(`input:${event.phase}:${event.collection}:${event.run}`);
      }
      this.setStatus(event.phase, position, event.skipped ? 'skipped' : 'complete');
      if (event.warning) this.warn(event.phase, event.collection, event.warning);
      this.recordTask(event.phase, position, { rowCount: 0, skippedReason: event.skipped });
      return;
    }
    task.deadlineAt = event.deadlineAt;
    if (task.answer && !state.cancel) {
      // Stored at once: the task goes on from in processing.
      this.storeAnswer(event.phase, position);
      return;
    }
    this.setStatus(event.phase, position, 'awaiting_input');
    this.recordTask(event.phase, position, {});
    this.commands.push({ type: 'startTimer', timer: manualTimer(event.phase, event.collection, task.run), ms: Math.max(0, Date.parse(event.deadlineAt) - Date.parse(this.at)) });
  }

  private timerFired(timer: string): void {
    const state = this.state;
    const phase = phaseOf(state.stage);
    if (!phase || !state.plan) return;
    state.tasks[phase].forEach((current, position) => {
      const collection = this.keyAt(position);
      if (manualTimer(phase, collection, current.run) !== timer || current.status !== 'awaiting_input' || current.answer) return;
      const skip = state.plan!.settings.manualDeadlineAction === 'skip';
      this.commands.push({ type: 'manualDeadlinePassed', at: this.at, phase, collection, run: current.run, skip });
      if (skip) {
        this.setStatus(phase, position, 'skipped');
        this.warn(phase, collection, 'no response before the deadline');
        this.recordTask(phase, position, { rowCount: 0, skippedReason: 'no response before the deadline' });
      } else {
        this.setStatus(phase, position, 'paused');
        this.recordTask(phase, position, {});
      }
    });
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
      case 'verification':
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
        this.afterPhases();
        return;
      }
      case 'consent':
        if (state.busy) return;
        this.finishComplete();
        return;
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
      this.afterPhases();
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
    const counts = state.counts[phase];
    // A legal hold keeps erasure from starting anything new (access goes on).
    if (counts.error === 0 && !state.draining && !(phase === 'erasure' && state.legalHold)) {
      while (counts.in_processing < plan.settings.collectionConcurrency) {
        const position = this.takeReady(phase);
        if (position === undefined) break;
        if (state.tasks[phase][position]!.status !== 'pending') continue;
        const collection = plan.collections[position]!;
        const task = this.setStatus(phase, position, 'in_processing');
        if (collection.manual) {
          this.recordTask(phase, position, {});
          this.commands.push({ type: 'openManualStep', phase, collection: collection.key, run: task.run, deadlineMs: plan.settings.manualDeadlineMs });
        } else {
          // The collection step marks its own task in processing as it starts (one write fewer per collection).
          this.commands.push({ type: 'runCollection', phase, collection: collection.key, run: task.run });
        }
      }
    }
    return counts.complete + counts.skipped < state.tasks[phase].length;
  }

  /** The status the request shows for its collections: in error or paused once nothing runs. */
  private syncStatus(phase: Phase): void {
    const state = this.state;
    const counts = state.counts[phase];
    const running = counts.in_processing > 0;
    // Where it stopped: the first such collection in the plan (looked for only when it stopped).
    const first = (matches: (task: Task) => boolean) => {
      const position = state.tasks[phase].findIndex(matches);
      return { collection: this.keyAt(position), run: state.tasks[phase][position]!.run };
    };
    let status: PrivacyRequestStatus = 'in_processing';
    let stoppedAt: { step: Phase; collection: string } | null = null;
    let failed: { collection: string; run: number } | undefined;
    if (counts.error > 0 && !running) {
      failed = first((task) => task.status === 'error');
      [status, stoppedAt] = ['error', { step: phase, collection: failed.collection }];
    } else if (counts.awaiting_input + counts.paused > 0 && !running) {
      [status, stoppedAt] = ['paused', { step: phase, collection: first((task) => task.status === 'awaiting_input' || task.status === 'paused').collection }];
    } else if (phase === 'erasure' && state.legalHold && !running) {
      status = 'paused';
    }
    if (status === state.status && stoppedAt?.collection === state.stoppedAt?.collection) return;
    const audit: AuditEntry | undefined = failed
      ? { eventKey: `error:${phase}:${failed.collection}:${failed.run}`, action: 'error', userId: 'system', message: `Collection ${failed.collection} failed during ${phase}` }
      : undefined;
    this.transition({ status, stoppedAt }, audit);
  }

  private transition(transition: TransitionRecord, audit?: AuditEntry): void {
    const state = this.state;
    const changed = state.status !== transition.status;
    state.status = transition.status;
    if (transition.stoppedAt !== undefined) state.stoppedAt = transition.stoppedAt;
    this.commands.push({ type: 'record', at: this.at, transition, ...(audit ? { audit } : {}) });
    const event = ({ approved: 'approved', paused: 'paused', error: 'errored' } as const)[transition.status as 'approved' | 'paused' | 'error'];
    if (changed && event) this.notice(event);
  }

  private resolveEffect(effect: string): void {
    const state = this.state;
    for (const [ack, pending] of Object.entries(state.pendingEffects)) {
      if (pending !== effect) continue;
      delete state.pendingEffects[ack];
      this.resolved.push(Number(ack));
    }
  }

  /** Access and erasure done: consent goes to vendors when the policy has a consent rule, then the request is complete. */
  private afterPhases(): void {
    const state = this.state;
    const preference = state.plan!.consentPreference;
    if (!preference || state.consentSent) {
      this.finishComplete();
      return;
    }
    state.stage = 'consent';
    state.busy = 'consent';
    this.commands.push({ type: 'propagateConsent', preference });
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
    this.notice('completed', { warnings: warnings.length });
    this.message('completion', {});
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
      state.tasks[phase].forEach((task, position) => {
        if (task.status === 'awaiting_input') this.commands.push({ type: 'cancelTimer', timer: manualTimer(phase, this.keyAt(position), task.run) });
      });
    }
    // A request that finishes keeps no timer: no reminder or overdue notice follows it.
    this.disarmDeadline();
    if (state.verification?.status === 'pending') this.commands.push({ type: 'cancelTimer', timer: VERIFICATION_TIMER });
    this.commands.push({ type: 'finish', outcome });
  }
}
