/**
 * The request lifecycle machine under thousands of random event sequences, without servers: a
 * small world carries out its commands (collections that succeed or fail, people who answer or
 * do not, timers, reviews, cancels, retries, history limits) and every step is checked.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ActionName } from '../../src/domain/actions.js';
import {
  initialState,
  step,
  taskOf,
  type LifecycleCommand,
  type LifecycleEvent,
  type LifecycleState,
  type Phase,
  type PlannedRequest,
  type StepResult,
} from '../../src/domain/lifecycle.js';

const RUNS = Number(process.env.LIFECYCLE_RUNS ?? 500);
const AT = '2026-12-01T00:00:00.000Z';

// ---- Plans ------------------------------------------------------------------------------------

const planArb: fc.Arbitrary<PlannedRequest> = fc
  .integer({ min: 1, max: 6 })
  .chain((count) =>
    fc.record({
      edges: fc.array(fc.tuple(fc.array(fc.boolean(), { minLength: count, maxLength: count }), fc.array(fc.boolean(), { minLength: count, maxLength: count })), { minLength: count, maxLength: count }),
      manual: fc.array(fc.boolean(), { minLength: count, maxLength: count }),
      actionTypes: fc.constantFrom<PlannedRequest['actionTypes']>(['access'], ['erasure'], ['access', 'erasure']),
      requiresApproval: fc.boolean(),
      requiresErasureConfirmation: fc.boolean(),
      concurrency: fc.integer({ min: 1, max: 3 }),
      deadlineAction: fc.constantFrom<'skip' | 'wait'>('skip', 'wait'),
      requiresVerification: fc.boolean(),
      regulation: fc.constantFrom<'gdpr' | 'ccpa' | 'lgpd'>('gdpr', 'ccpa', 'lgpd'),
    }),
  )
  .map(({ edges, manual, actionTypes, requiresApproval, requiresErasureConfirmation, concurrency, deadlineAction, requiresVerification, regulation }) => ({
    policyKey: 'policy',
    actionTypes,
    requiresApproval,
    requiresErasureConfirmation,
    collections: edges.map(([access, erasure], i) => ({
      key: `d:c${i}`,
      connectionKey: 'conn',
      // Only earlier collections: the graph has no cycle, as the planner guarantees.
      upstream: access.slice(0, i).flatMap((edge, j) => (edge && (i + j) % 2 === 0 ? [`d:c${j}`] : [])),
      erasureUpstream: erasure.slice(0, i).flatMap((edge, j) => (edge && (i * j) % 3 !== 1 ? [`d:c${j}`] : [])),
      manual: manual[i]! && i % 2 === 1,
      fields: ['id', 'name'],
    })),
    settings: {
      startToCloseTimeoutMs: 60_000,
      heartbeatTimeoutMs: 30_000,
      maxAttempts: 3,
      initialRetryIntervalMs: 1000,
      collectionConcurrency: concurrency,
      requireApproval: false,
      manualDeadlineMs: 86_400_000,
      manualDeadlineAction: deadlineAction,
      historyEventLimit: 10_000,
    },
    requiresVerification,
    deadline: { regulation, customDays: null, receivedAt: AT, dueAt: '2026-12-31T00:00:00.000Z', extendedDueAt: null },
  }));

// ---- The world ---------------------------------------------------------------------------------

type Work = Extract<LifecycleCommand, { type: 'plan' | 'runCollection' | 'openManualStep' | 'storeManualAnswer' | 'previewErasure' | 'preparePackage' }>;

/** A history of one request: every step with its event and result, and what is in flight. */
class World {
  state: LifecycleState = initialState('pri_test');
  readonly steps: { event: LifecycleEvent; before: LifecycleState; result: StepResult }[] = [];
  work: Work[] = [];
  timers = new Set<string>();
  continueWanted = false;
  finished = false;
  readonly completed: Record<Phase, Set<string>> = { access: new Set(), erasure: new Set() };
  continued = 0;

  constructor(readonly plan: PlannedRequest) {}

  send(event: LifecycleEvent): StepResult {
    const before = this.state;
    const frozen = JSON.stringify(before);
    const result = step(before, event);
    // The input state is left as it was.
    expect(JSON.stringify(before)).toBe(frozen);
    this.steps.push({ event, before, result });
    this.check(before, event, result);
    this.state = result.state;
    for (const command of result.commands) this.carryOut(command);
    return result;
  }

  private carryOut(command: LifecycleCommand) {
    switch (command.type) {
      case 'plan':
      case 'runCollection':
      case 'openManualStep':
      case 'storeManualAnswer':
      case 'previewErasure':
      case 'preparePackage':
        this.work.push(command);
        break;
      case 'startTimer':
        this.timers.add(command.timer);
        break;
      case 'cancelTimer':
        this.timers.delete(command.timer);
        break;
      case 'continueAsNew':
        this.continueWanted = true;
        break;
      case 'finish':
        this.finished = true;
        break;
      default:
        break;
    }
  }

  /** Carries out the work at `index`: it succeeds, or (when asked and it can) fails. */
  complete(index: number, fail: boolean, phaseSkip = false) {
    const [work] = this.work.splice(index % this.work.length, 1);
    const at = AT;
    switch (work!.type) {
      case 'plan':
        return this.send(fail ? { type: 'planFailed', at, message: 'the policy is gone', notFound: false } : { type: 'planned', at, plan: this.plan });
      case 'runCollection':
        return this.send(
          fail
            ? { type: 'collectionFailed', at, phase: work!.phase, collection: work!.collection, run: work!.run, message: 'timeout: no answer', category: 'timeout' }
            : {
                type: 'collectionSucceeded',
                at,
                phase: work!.phase,
                collection: work!.collection,
                run: work!.run,
                rowCount: 1,
                skipped: phaseSkip && work!.phase === 'erasure' ? 'no primary key' : null,
                warning: phaseSkip && work!.phase === 'erasure' ? 'no primary key' : null,
              },
        );
      case 'openManualStep':
        return this.send(
          fail
            ? { type: 'collectionFailed', at, phase: work!.phase, collection: work!.collection, run: work!.run, message: 'server: down', category: 'server' }
            : { type: 'manualOpened', at, phase: work!.phase, collection: work!.collection, run: work!.run, needed: !phaseSkip, skipped: null, deadlineAt: '2026-12-15T00:00:00.000Z' },
        );
      case 'storeManualAnswer':
        return this.send({ type: 'manualAnswerStored', at, phase: work!.answer.phase, collection: work!.collection, run: work!.run });
      case 'previewErasure':
        return this.send({ type: 'erasurePreviewed', at });
      case 'preparePackage':
        return this.send({ type: 'packagePrepared', at });
    }
  }

  /** Continue as new: the whole state, through JSON, into a new run. */
  continueAsNew() {
    this.continueWanted = false;
    this.continued += 1;
    this.timers.clear(); // timers die with the run; the new run starts them again
    this.state = JSON.parse(JSON.stringify(this.state)) as LifecycleState;
    this.send({ type: 'started', at: AT });
  }

  /** A plausible action for where the request stands, or a hostile one. */
  action(choice: number, valid: boolean): { action: ActionName; payload: unknown } {
    const actions: ActionName[] = ['approve', 'deny', 'cancel', 'retry', 'confirmErasure', 'manualInput', 'erasureConfirm', 'extend', 'verifyIdentity', 'placeLegalHold', 'liftLegalHold'];
    const action = actions[choice % actions.length]!;
    if (!valid) return { action, payload: choice % 2 ? { reviewer: '' } : { unexpected: true, user_id: 'mallory' } };
    const waiting = (phase: Phase) => this.plan.collections.find((collection) => collection.manual && ['awaiting_input', 'paused', 'in_processing'].includes(taskOf(this.state, phase, collection.key)?.status ?? ''));
    switch (action) {
      case 'approve':
        return { action, payload: { reviewer: 'user:alice' } };
      case 'deny':
        return { action, payload: { reviewer: 'user:bob', reason: 'not the account holder' } };
      case 'cancel':
        return { action, payload: { user_id: 'user:carol', reason: 'withdrawn' } };
      case 'retry':
        return { action, payload: { user_id: 'user:ops' } };
      case 'confirmErasure':
        return { action, payload: { user_id: 'user:dpo' } };
      case 'manualInput':
        return { action, payload: { collection: waiting('access')?.key, rows: choice % 3 ? [{ id: 1, name: 'x' }] : [{ unknown_field: 1 }], user_id: 'user:clerk' } };
      case 'erasureConfirm':
        return { action, payload: { collection: waiting('erasure')?.key, row_count: 1, user_id: 'user:clerk' } };
      case 'extend':
        return { action, payload: { user_id: 'user:dpo', reason: 'complex request' } };
      case 'verifyIdentity':
        return { action, payload: { outcome: choice % 4 ? 'verified' : 'failed', user_id: 'verifier' } };
      case 'placeLegalHold':
        return { action, payload: { user_id: 'user:legal', reason: 'litigation' } };
      case 'liftLegalHold':
        return { action, payload: { user_id: 'user:legal' } };
    }
  }

  // ---- Checks on every step ----------------------------------------------------------------------

  private check(before: LifecycleState, event: LifecycleEvent, result: StepResult) {
    const { commands, state } = result;
    // The state is plain JSON.
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
    // The counts and the ready list say what the tasks say.
    for (const phase of ['access', 'erasure'] as const) {
      const counted: Record<string, number> = {};
      for (const task of state.tasks[phase]) counted[task.status] = (counted[task.status] ?? 0) + 1;
      for (const [status, count] of Object.entries(state.counts[phase])) expect(count, `${phase} ${status}`).toBe(counted[status] ?? 0);
      for (const position of state.ready[phase]) expect(state.tasks[phase][position]!.status).toBe('pending');
    }

    // Finished is final: nothing changes, and an action is only refused.
    if (before.stage === 'finished') {
      expect(state.status).toBe(before.status);
      expect(state.outcome).toBe(before.outcome);
      for (const command of commands) expect(command.type === 'record' && command.audit?.action === 'action_rejected' && !command.transition).toBe(true);
    }

    for (const command of commands) {
      if (command.type === 'runCollection' || command.type === 'openManualStep') {
        const planned = this.plan.collections.find((collection) => collection.key === command.collection)!;
        const upstream = command.phase === 'access' ? planned.upstream : planned.erasureUpstream;
        // Never before every collection it takes values from has completed.
        for (const key of upstream) expect(['complete', 'skipped'], `${command.collection} before ${key}`).toContain(taskOf(state, command.phase, key)!.status);
        // A retry never re-runs a completed collection.
        expect(this.completed[command.phase].has(command.collection), `${command.phase} ${command.collection} ran again`).toBe(false);
      }
    }
    for (const phase of ['access', 'erasure'] as const) {
      state.tasks[phase].forEach((task, position) => {
        if (task.status === 'complete' || task.status === 'skipped') this.completed[phase].add(this.plan.collections[position]!.key);
      });
    }

    const audits = commands.flatMap((command) => (command.type === 'record' && command.audit ? [command.audit] : []));
    if (event.type === 'action') {
      const verdict = result.verdict!;
      expect(verdict).toBeDefined();
      if (!verdict.accepted) {
        // A refusal changes nothing but leaves one row saying why.
        expect(audits).toEqual([expect.objectContaining({ action: 'action_rejected', message: verdict.reason })]);
        expect(commands).toHaveLength(1);
        expect({ ...state, rejections: before.rejections }).toEqual(before);
      } else {
        const expected: Record<ActionName, string | null> = {
          approve: 'approved',
          deny: 'denied',
          cancel: null, // written with the final status, once nothing runs (checked at the end)
          retry: 'retried',
          confirmErasure: 'erasure_confirmed',
          manualInput: 'manual_input',
          erasureConfirm: 'manual_input',
          extend: 'extended',
          verifyIdentity: null, // verified, or denied
          placeLegalHold: 'legal_hold_placed',
          liftLegalHold: 'legal_hold_lifted',
        };
        const kind = expected[event.action];
        const own = audits.filter((audit) => audit.action === kind || (kind === null && audit.action === 'canceled'));
        if (kind !== null) expect(own, `${event.action} audit rows`).toHaveLength(1);
        expect(audits.filter((audit) => audit.action === 'action_rejected')).toHaveLength(0);
      }
    } else {
      // Only actions are refused.
      expect(result.verdict).toBeUndefined();
      expect(audits.filter((audit) => audit.action === 'action_rejected')).toHaveLength(0);
    }

    // A JSON round trip of the input changes nothing about the step.
    expect(step(JSON.parse(JSON.stringify(before)) as LifecycleState, event)).toEqual(result);
  }

  /** A copy of this world from here on: same state and work, its own history. */
  fork(): World {
    const copy = new World(this.plan);
    copy.state = this.state;
    copy.work = [...this.work];
    copy.timers = new Set(this.timers);
    copy.continueWanted = this.continueWanted;
    copy.finished = this.finished;
    for (const phase of ['access', 'erasure'] as const) copy.completed[phase] = new Set(this.completed[phase]);
    return copy;
  }

  summary() {
    return {
      outcome: this.state.outcome,
      status: this.state.status,
      tasks: this.state.tasks,
      warnings: this.state.warnings,
      audits: this.audits().map((audit) => `${audit.eventKey}:${audit.action}:${audit.userId}`),
    };
  }

  /** Every audit row the request wrote, in order. */
  audits() {
    return this.steps.flatMap(({ result }) => result.commands.flatMap((command) => (command.type === 'record' && command.audit ? [command.audit] : [])));
  }

  accepted(action: ActionName) {
    return this.steps.filter(({ event, result }) => event.type === 'action' && event.action === action && result.verdict?.accepted).length;
  }

  /**
   * Drives the request to its end the way a patient world would: work succeeds, reviewers approve,
   * people answer, errors are retried (a few times), and a requested continue-as-new happens.
   */
  finish(limit = 400) {
    for (let i = 0; i < limit && !this.finished; i += 1) {
      if (this.work.length) {
        this.complete(0, false);
        continue;
      }
      if (this.continueWanted) {
        this.continueAsNew();
        continue;
      }
      const state = this.state;
      if (state.legalHold) this.send({ type: 'action', at: AT, action: 'liftLegalHold', payload: {} });
      else if (state.stage === 'verification') this.send({ type: 'action', at: AT, action: 'verifyIdentity', payload: { outcome: 'verified' } });
      else if (state.stage === 'review' || (state.stage === 'planning' && state.planning === 'running')) this.send({ type: 'action', at: AT, action: 'approve', payload: { reviewer: 'user:alice' } });
      else if (state.status === 'error') this.send({ type: 'action', at: AT, action: 'retry', payload: {} });
      else if (state.stage === 'erasure_confirmation') this.send({ type: 'action', at: AT, action: 'confirmErasure', payload: {} });
      else if (state.stage === 'access' || state.stage === 'erasure') {
        const phase = state.stage;
        const waiting = this.plan.collections.find((collection) => ['awaiting_input', 'paused'].includes(taskOf(state, phase, collection.key)!.status));
        if (!waiting) throw new Error(`stuck in ${phase}: ${JSON.stringify(state.tasks[phase])}`);
        const result = this.send({
          type: 'action',
          at: AT,
          action: phase === 'access' ? 'manualInput' : 'erasureConfirm',
          payload: phase === 'access' ? { collection: waiting.key, rows: [{ id: 1 }] } : { collection: waiting.key, row_count: 1 },
        });
        if (!result.verdict?.accepted) throw new Error(`stuck: ${JSON.stringify(result.verdict)}`);
      } else throw new Error(`stuck in ${state.stage} (${state.status}, busy ${state.busy})`);
    }
    expect(this.finished, 'the request finished').toBe(true);
  }
}

/** One random move of the world. */
const moveArb = fc.record({ kind: fc.integer({ min: 0, max: 9 }), choice: fc.nat(1000), flag: fc.boolean() });

function play(world: World, moves: { kind: number; choice: number; flag: boolean }[], start = true) {
  if (start) world.send({ type: 'started', at: AT });
  for (const { kind, choice, flag } of moves) {
    if (world.finished && kind < 6) continue;
    if (kind <= 3 && world.work.length) world.complete(choice, kind === 3 && flag, choice % 5 === 0);
    else if (kind === 4 && world.timers.size) world.send({ type: 'timerFired', at: AT, timer: [...world.timers][choice % world.timers.size]! });
    else if (kind === 5) world.send({ type: 'historyLimitReached', at: AT });
    else if (kind === 6 && world.continueWanted && world.work.length === 0) world.continueAsNew();
    else {
      const { action, payload } = world.action(choice, flag || choice % 7 !== 0);
      world.send({ type: 'action', at: AT, action, payload });
    }
  }
}

describe('the request lifecycle', () => {
  it(`keeps its rules under ${RUNS} random histories: order, retries, one review, final states, one audit row per action`, () => {
    fc.assert(
      fc.property(planArb, fc.array(moveArb, { maxLength: 60 }), (plan, moves) => {
        const world = new World(plan);
        play(world, moves);
        world.finish();
        const audits = world.audits();
        // At most one review decision is applied, and at most one automatic approval instead.
        // (A decision taken before the identity check may still end denied for want of verification.)
        expect(audits.filter((audit) => (audit.action === 'approved' || audit.action === 'denied') && audit.eventKey !== 'verification_failed').length).toBeLessThanOrEqual(1);
        expect(world.accepted('approve') + world.accepted('deny')).toBeLessThanOrEqual(1);
        // An accepted cancel ends the request canceled, with one row; at most one is accepted.
        const cancels = world.accepted('cancel');
        expect(cancels).toBeLessThanOrEqual(1);
        expect(audits.filter((audit) => audit.action === 'canceled')).toHaveLength(cancels);
        if (cancels) expect(world.state.outcome).toBe('canceled');
        // An audit row is recorded once by its key (the table ignores a second write): a key
        // written twice must mean the same row, never two different ones.
        const byKey = new Map<string, string>();
        for (const audit of audits) {
          const row = JSON.stringify([audit.action, audit.userId, audit.message]);
          expect(byKey.get(audit.eventKey) ?? row, audit.eventKey).toBe(row);
          byKey.set(audit.eventKey, row);
        }
        // Exactly one final status.
        expect(world.steps.flatMap(({ result }) => result.commands.filter((command) => command.type === 'finish'))).toHaveLength(1);
        if (world.state.outcome === 'complete') {
          for (const phase of world.plan.actionTypes.includes('erasure') ? (['access', 'erasure'] as const) : (['access'] as const)) {
            for (const task of Object.values(world.state.tasks[phase])) expect(['complete', 'skipped']).toContain(task.status);
          }
        }
      }),
      { numRuns: RUNS, ...(process.env.LIFECYCLE_SEED ? { seed: Number(process.env.LIFECYCLE_SEED) } : {}) },
    );
  });

  it(`ends the same way whether or not it continues as new after any event (${RUNS} histories)`, () => {
    fc.assert(
      fc.property(planArb, fc.array(moveArb, { maxLength: 40 }), fc.nat(1000), (plan, moves, cut) => {
        const world = new World(plan);
        play(world, moves.slice(0, cut % (moves.length + 1)));
        if (world.finished) return;
        // From here, once as it is and once with the history limit reached now: the same world
        // (work succeeds, people answer, errors are retried) brings both to the same end.
        const plain = world.fork();
        plain.finish();
        const continued = world.fork();
        continued.send({ type: 'historyLimitReached', at: AT });
        continued.finish();
        expect(continued.summary()).toEqual(plain.summary());
      }),
      { numRuns: RUNS, ...(process.env.LIFECYCLE_SEED ? { seed: Number(process.env.LIFECYCLE_SEED) } : {}) },
    );
  });

  it(`hands the whole state to the next run: a continued run is the run it continues (${RUNS} histories)`, () => {
    fc.assert(
      fc.property(planArb, fc.array(moveArb, { maxLength: 60 }), (plan, moves) => {
        const world = new World(plan);
        world.send({ type: 'started', at: AT });
        let forks = 0;
        for (const move of moves) {
          play(world, [move], false);
          if (world.finished || world.work.length || world.state.draining) continue;
          // Nothing in flight: continuing as new now must land in the very same state.
          const fork = world.fork();
          const asked = fork.send({ type: 'historyLimitReached', at: AT });
          if (!asked.commands.some((command) => command.type === 'continueAsNew')) continue;
          fork.continueAsNew();
          expect(fork.state).toEqual(world.state);
          forks += 1;
        }
        return forks >= 0;
      }),
      { numRuns: RUNS, ...(process.env.LIFECYCLE_SEED ? { seed: Number(process.env.LIFECYCLE_SEED) } : {}) },
    );
  });
});

describe('the request lifecycle, by example', () => {
  const plan = (overrides: Partial<PlannedRequest> = {}): PlannedRequest => ({
    policyKey: 'p',
    actionTypes: ['access'],
    requiresApproval: false,
    requiresErasureConfirmation: false,
    collections: [
      { key: 'd:customer', connectionKey: 'c', upstream: [], erasureUpstream: [], manual: false, fields: ['id'] },
      { key: 'd:orders', connectionKey: 'c', upstream: ['d:customer'], erasureUpstream: [], manual: false, fields: ['id'] },
    ],
    settings: { startToCloseTimeoutMs: 1, heartbeatTimeoutMs: 1, maxAttempts: 1, initialRetryIntervalMs: 1, collectionConcurrency: 8, requireApproval: false, manualDeadlineMs: 1000, manualDeadlineAction: 'skip', historyEventLimit: 100 },
    ...overrides,
  });

  it('plans, approves itself, runs collections in order, writes the package and completes', () => {
    const world = new World(plan());
    world.send({ type: 'started', at: AT });
    expect(world.work).toEqual([{ type: 'plan' }]);
    world.complete(0, false);
    expect(world.work).toEqual([{ type: 'runCollection', phase: 'access', collection: 'd:customer', run: 1 }]);
    world.complete(0, false);
    expect(world.work).toEqual([{ type: 'runCollection', phase: 'access', collection: 'd:orders', run: 1 }]);
    world.complete(0, false);
    expect(world.work).toEqual([expect.objectContaining({ type: 'preparePackage' })]);
    world.complete(0, false);
    expect(world.state).toMatchObject({ outcome: 'complete', status: 'complete', stage: 'finished' });
    expect(world.audits().map((audit) => audit.action)).toEqual(['approved', 'finished']);
  });

  it('carries warnings when erasure leaves a collection untouched', () => {
    const world = new World(plan({ actionTypes: ['erasure'] }));
    world.send({ type: 'started', at: AT });
    while (world.work.length) world.complete(0, false, true);
    expect(world.state.outcome).toBe('complete');
    expect(world.state.warnings).toEqual([
      { phase: 'erasure', collection: 'd:customer', reason: 'no primary key' },
      { phase: 'erasure', collection: 'd:orders', reason: 'no primary key' },
    ]);
    const record = world.steps.at(-1)!.result.commands.find((command) => command.type === 'record' && command.transition?.status === 'complete');
    expect(record).toMatchObject({ transition: { warnings: world.state.warnings } });
    expect(world.audits().map((audit) => audit.action)).toEqual(['approved', 'warning', 'finished']);
  });

  it('errs after a failure, and a retry re-runs only the failed collection', () => {
    const world = new World(plan());
    world.send({ type: 'started', at: AT });
    world.complete(0, false); // plan
    world.complete(0, false); // customer
    world.complete(0, true); // orders fails
    expect(world.state).toMatchObject({ status: 'error', stoppedAt: { step: 'access', collection: 'd:orders' } });
    const retried = world.send({ type: 'action', at: AT, action: 'retry', payload: { user_id: 'user:ops' } });
    expect(retried.verdict).toMatchObject({ accepted: true });
    expect(world.work).toEqual([{ type: 'runCollection', phase: 'access', collection: 'd:orders', run: 2 }]);
    expect(world.state.status).toBe('in_processing');
  });

  it('refuses a second review and any action once finished, with the reason', () => {
    const world = new World(plan({ requiresApproval: true }));
    world.send({ type: 'started', at: AT });
    world.complete(0, false);
    expect(world.state.status).toBe('pending');
    expect(world.send({ type: 'action', at: AT, action: 'deny', payload: { reviewer: 'user:bob', reason: 'no' } }).verdict).toMatchObject({ accepted: true });
    expect(world.state.outcome).toBe('denied');
    const again = world.send({ type: 'action', at: AT, action: 'approve', payload: { reviewer: 'user:alice' } });
    expect(again.verdict).toEqual({ accepted: false, reason: 'approve refused: the request is denied' });
  });

  it('skips a manual collection whose deadline passes, with a warning', () => {
    const world = new World(plan({ collections: [{ key: 'd:cabinet', connectionKey: 'm', upstream: [], erasureUpstream: [], manual: true, fields: ['id'] }] }));
    world.send({ type: 'started', at: AT });
    world.complete(0, false); // plan
    world.complete(0, false); // opened
    expect(world.state.status).toBe('paused');
    expect([...world.timers]).toEqual(['manual:access:d:cabinet:1']);
    world.send({ type: 'timerFired', at: AT, timer: 'manual:access:d:cabinet:1' });
    expect(taskOf(world.state, 'access', 'd:cabinet')!.status).toBe('skipped');
    expect(world.state.warnings).toEqual([{ phase: 'access', collection: 'd:cabinet', reason: 'no response before the deadline' }]);
  });
});
