/**
 * Structured logs: one JSON object per line on stdout. Callers pass ids and counts, never
 * identity values or row data.
 */
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof LEVELS;

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export function createLogger(component: string, level: LogLevel = 'info', write: (line: string) => void = (line) => process.stdout.write(line + '\n')): Logger {
  const at = (lineLevel: LogLevel) => (message: string, fields: Record<string, unknown> = {}) => {
    if (LEVELS[lineLevel] < LEVELS[level]) return;
    write(JSON.stringify({ time: new Date().toISOString(), level: lineLevel, component, message, ...fields }));
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
