/**
 * `npm run bench` runs every benchmark; `npm run bench -- planner` runs the ones named.
 *
 * A benchmark is a module exporting `{name, run}`; `run()` answers a title, table rows and notes
 * (and whether its target was met). Each result is written into BENCHMARKS.md at the repository
 * root, in the section between `<!-- bench:NAME:start -->` and `<!-- bench:NAME:end -->`, with
 * the command, the machine and the date: running one benchmark rewrites only its own section.
 * The exit code is 1 when a benchmark misses its target.
 */
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

export interface BenchmarkResult {
  title: string;
  /** Table rows; the keys of the first row are the columns. */
  rows: Record<string, string>[];
  /** Markdown paragraphs under the table: the target and whether it was met, how it was measured. */
  notes: string[];
  /** False when the benchmark missed its target. */
  passed?: boolean;
}

export interface Benchmark {
  name: string;
  run(): Promise<BenchmarkResult>;
}

const REPORT = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url));
const HEADER = `# Benchmarks

Written by \`npm run bench\` (bench/run.ts): each benchmark rewrites its own section, between its
\`bench:NAME\` comments, so results of different benchmarks and machines can sit side by side.
Run \`npm run bench -- NAME\` to refresh one section.
`;

/** Every benchmark, in the order `npm run bench` runs them. */
async function registry(): Promise<Benchmark[]> {
  const { planner } = await import('./planner.js');
  const { longRequest, requestGrowth } = await import('./long-request.js');
  const { reporting } = await import('./reporting.js');
  const { noticesCost } = await import('./notices-cost.js');
  const { throughput } = await import('./throughput.js');
  const { mariadbExample } = await import('./mariadb-example.js');
  const { saasStream, saasRateLimit } = await import('./saas.js');
  const { requestCost } = await import('./request-cost.js');
  const { consoleInbox } = await import('./console.js');
  return [planner, longRequest, requestGrowth, reporting, throughput, noticesCost, mariadbExample, saasStream, saasRateLimit, requestCost, consoleInbox];
}

async function machine(): Promise<string> {
  let cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  let system = `${os.type()} ${os.release()} (${os.arch()})`;
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(await readFile('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpu;
  } catch {
    // Not Linux: os.cpus() it is.
  }
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(await readFile('/etc/os-release', 'utf8'))?.[1];
    if (pretty) system = `${pretty}, ${system}`;
  } catch {
    // No os-release: the kernel is enough.
  }
  const memory = `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`;
  // The load average says whether other work shared the machine while it ran.
  const load = os.loadavg()[0]!.toFixed(2);
  return `${cpu}, ${os.availableParallelism()} cores, ${memory} memory; Node ${process.version}; ${system}; load average ${load} at the start`;
}

const escapeCell = (value: string) => value.replace(/\|/g, '\\|');

function table(rows: Record<string, string>[]): string {
  if (!rows.length) return '_No rows._';
  const columns = Object.keys(rows[0]!);
  const numeric = columns.map((column) => rows.every((row) => /^[\d.,\s-]*$/.test(row[column] ?? '')));
  return [
    `| ${columns.map(escapeCell).join(' | ')} |`,
    `| ${numeric.map((right) => (right ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((row) => `| ${columns.map((column) => escapeCell(row[column] ?? '')).join(' | ')} |`),
  ].join('\n');
}

export function section(name: string, result: BenchmarkResult, context: { command: string; machine: string; date: string }): string {
  return [
    `<!-- bench:${name}:start -->`,
    `## ${result.title}`,
    '',
    `- Command: \`${context.command}\``,
    `- Machine: ${context.machine}`,
    `- Date: ${context.date}`,
    '',
    table(result.rows),
    '',
    ...result.notes.flatMap((note) => [note, '']),
    `<!-- bench:${name}:end -->`,
  ].join('\n');
}

/** The report with the benchmark's section replaced in place, or appended when it has none yet. */
export function withSection(report: string, name: string, text: string): string {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const from = report.indexOf(start);
  const to = report.indexOf(end, from);
  if (from !== -1 && to !== -1) return report.slice(0, from) + text + report.slice(to + end.length);
  return `${report.trimEnd()}\n\n${text}\n`;
}

async function main(names: string[]) {
  const benchmarks = await registry();
  const unknown = names.filter((name) => !benchmarks.some((benchmark) => benchmark.name === name));
  if (unknown.length) {
    console.error(`Unknown benchmark${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}. Available: ${benchmarks.map((b) => b.name).join(', ')}`);
    process.exit(2);
  }
  const selected = names.length ? benchmarks.filter((benchmark) => names.includes(benchmark.name)) : benchmarks;
  const context = {
    command: `npm run bench${names.length ? ` -- ${names.join(' ')}` : ''}`,
    machine: await machine(),
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  };
  let report: string;
  try {
    report = await readFile(REPORT, 'utf8');
  } catch {
    report = HEADER;
  }
  let failed = false;
  for (const benchmark of selected) {
    console.log(`Running ${benchmark.name}…`);
    const result = await benchmark.run();
    const text = section(benchmark.name, result, context);
    console.log(`\n${text}\n`);
    report = withSection(report, benchmark.name, text);
    // Written after each benchmark, so a later failure keeps the earlier results.
    await writeFile(REPORT, report);
    if (result.passed === false) failed = true;
  }
  console.log(`Results written to ${REPORT}`);
  if (failed) {
    console.error('A benchmark missed its target.');
    process.exitCode = 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
