/**
 * dsrflow workers for the chaos run, each a real process (`src/cli/worker.ts` of the run's copy of
 * the code, through tsx, with the run's workflow bundle in DSRFLOW_WORKFLOW_BUNDLE). The supervisor kills the current one with
 * SIGKILL when told and starts a new one at once; a worker that exits on its own is recorded and
 * replaced.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface WorkerExit {
  at: number;
  pid: number | undefined;
  code: number | null;
  signal: string | null;
  /** The end of what it printed. */
  output: string;
}

interface Running {
  process: ChildProcess;
  output: string;
  startedAt: number;
  readyAt: number | undefined;
  killed: boolean;
  exited: Promise<void>;
}

export class WorkerSupervisor {
  private current: Running | undefined;
  private stopping = false;
  /** Workers that exited without being killed by the run. */
  readonly unexpectedExits: WorkerExit[] = [];
  /** Seconds from start to polling, per worker started. */
  readonly startupSeconds: number[] = [];
  started = 0;

  constructor(
    private readonly env: Record<string, string>,
    /** The directory the workers run from (a copy of the repository's code). */
    private readonly cwd: string,
    private readonly log: (line: string) => void,
  ) {}

  private spawnOne(): Running {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/worker.ts'], {
      cwd: this.cwd,
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.started += 1;
    const running: Running = {
      process: child,
      output: '',
      startedAt: Date.now(),
      readyAt: undefined,
      killed: false,
      exited: new Promise<void>((resolve) => child.once('exit', () => resolve())),
    };
    const collect = (chunk: Buffer) => {
      const text = chunk.toString();
      running.output = (running.output + text).slice(-6000);
      if (running.readyAt === undefined && text.includes('Worker polling')) {
        running.readyAt = Date.now();
        this.startupSeconds.push((running.readyAt - running.startedAt) / 1000);
      }
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    child.once('exit', (code, signal) => {
      if (running.killed || this.stopping) return;
      this.unexpectedExits.push({ at: Date.now(), pid: child.pid, code, signal, output: running.output.slice(-2000) });
      this.log(`worker ${child.pid} exited on its own (${code ?? signal}); starting another in 3 s`);
      if (this.current === running) this.current = undefined;
      setTimeout(() => {
        if (!this.stopping && !this.current) this.current = this.spawnOne();
      }, 3_000).unref();
    });
    return running;
  }

  /** Starts the first worker and waits until it polls. */
  async start(timeoutMs: number): Promise<void> {
    this.current = this.spawnOne();
    await this.waitReady(timeoutMs);
  }

  /** Waits until the current worker polls its task queue. */
  async waitReady(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const running = this.current;
      if (running?.readyAt !== undefined) return (running.readyAt - running.startedAt) / 1000;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`no worker polled within ${Math.round(timeoutMs / 1000)} s:\n${this.current?.output ?? '(no worker)'}`);
  }

  /** SIGKILL to the current worker, and a new one started at once. Answers the killed pid. */
  async killAndReplace(): Promise<number | undefined> {
    const victim = this.current;
    if (victim) {
      victim.killed = true;
      victim.process.kill('SIGKILL');
      await victim.exited;
    }
    this.current = this.spawnOne();
    return victim?.process.pid;
  }

  /** Kills whatever runs (the run is over). */
  async stop(): Promise<void> {
    this.stopping = true;
    const running = this.current;
    this.current = undefined;
    if (running && running.process.exitCode === null && running.process.signalCode === null) {
      running.killed = true;
      running.process.kill('SIGKILL');
      await running.exited;
    }
  }
}
