/**
 * Regulatory deadlines: when a privacy request must be answered, by which regime, and how far one
 * extension moves it.
 *
 * Periods count whole days in the business's time zone (DSRFLOW_TIME_ZONE, UTC by default), as
 * EU Regulation 1182/71 counts them: the day of receipt does not count, and a period ends at the
 * end of its last day. A period in months ends on the same date of the last month, or on that
 * month's last day when it has no such date (received 31 January: due 28 or 29 February).
 *
 * Pure: imported by workflow code (Intl is deterministic for the same inputs).
 */
import { z } from 'zod';

export const REGULATIONS = ['gdpr', 'ccpa', 'vcdpa', 'cpa', 'ctdpa', 'tdpsa', 'lgpd', 'custom'] as const;
export type Regulation = (typeof REGULATIONS)[number];
export const regulationSchema = z.enum(REGULATIONS, { error: `must be one of ${REGULATIONS.join(', ')}` });

export type Period = { months: number } | { days: number };

export interface Regime {
  name: string;
  /** The time to respond. `custom`: the policy's number of days. */
  period: Period | null;
  /** The one extension the law allows, counted from the first due date; null when it allows none. */
  extension: Period | null;
  /** Business days to confirm receipt (CCPA §7021(a)). */
  acknowledgeBusinessDays: number | null;
  /**
   * Whether the time spent verifying the person's identity counts toward the deadline. When it
   * does not, the period starts again from the verification (docs/decisions.md, "Deadlines").
   */
  verificationCounts: boolean;
}

const US_STATE = { period: { days: 45 }, extension: { days: 45 }, acknowledgeBusinessDays: null, verificationCounts: true } as const;

export const REGIMES: Record<Regulation, Regime> = {
  // GDPR Art. 12(3): one month, extendable by two further months; EDPB Guidelines 01/2022 ¶159:
  // the period runs from when the controller can identify the person.
  gdpr: { name: 'GDPR', period: { months: 1 }, extension: { months: 2 }, acknowledgeBusinessDays: null, verificationCounts: false },
  // CCPA §1798.130(a)(2), Regulations §7021: 45 days from receipt, whatever verification takes; +45 once.
  ccpa: { name: 'CCPA', period: { days: 45 }, extension: { days: 45 }, acknowledgeBusinessDays: 10, verificationCounts: true },
  vcdpa: { name: 'Virginia CDPA', ...US_STATE },
  cpa: { name: 'Colorado Privacy Act', ...US_STATE },
  ctdpa: { name: 'Connecticut DPA', ...US_STATE },
  tdpsa: { name: 'Texas DPSA', ...US_STATE },
  // LGPD Art. 19(II): 15 days from the request; no extension.
  lgpd: { name: 'LGPD', period: { days: 15 }, extension: null, acknowledgeBusinessDays: null, verificationCounts: true },
  custom: { name: 'custom', period: null, extension: null, acknowledgeBusinessDays: null, verificationCounts: true },
};

export interface DeadlineOptions {
  /** IANA time zone in which days are counted. */
  timeZone: string;
  /** `custom`: the policy's number of days. */
  customDays?: number | null;
  /** Replaces every regime's period (an internal SLA shorter than the law, or seconds in tests). */
  periodOverrideMs?: number | null;
  /** Replaces the length of the extension of regimes that allow one (the period override when not set). */
  extensionOverrideMs?: number | null;
}

interface LocalDate {
  year: number;
  month: number; // 1–12
  day: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(timeZone, format);
  }
  return format;
}

/** Whether the name is a time zone this runtime knows. */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock fields of an instant in a time zone. */
function wallClock(instant: number, timeZone: string) {
  const parts = Object.fromEntries(formatter(timeZone).formatToParts(new Date(instant)).map((part) => [part.type, part.value]));
  return { year: Number(parts.year), month: Number(parts.month), day: Number(parts.day), hour: Number(parts.hour), minute: Number(parts.minute), second: Number(parts.second) };
}

function localDateOf(instant: number, timeZone: string): LocalDate {
  const { year, month, day } = wallClock(instant, timeZone);
  return { year, month, day };
}

/** The instant a local date begins (its first moment, even on a day a clock change skips midnight). */
function startOfLocalDay(date: LocalDate, timeZone: string): number {
  const asUtc = Date.UTC(date.year, date.month - 1, date.day);
  let guess = asUtc;
  // The zone's offset at the guess, applied until stable (two rounds cover any clock change).
  for (let round = 0; round < 3; round++) {
    const wall = wallClock(guess, timeZone);
    const offset = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second) - guess;
    const next = asUtc - offset;
    if (next === guess) break;
    guess = next;
  }
  // A clock change at midnight: the day begins at the first instant that shows it. A day the zone
  // skipped altogether (Pacific/Apia, 30 December 2011) "begins" when the next one does.
  while (compareDates(localDateOf(guess, timeZone), date) < 0) guess += 15 * 60 * 1000;
  return guess;
}

const compareDates = (a: LocalDate, b: LocalDate) => a.year - b.year || a.month - b.month || a.day - b.day;

const daysInMonth = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();

function addToDate(date: LocalDate, period: Period): LocalDate {
  if ('days' in period) {
    const moved = new Date(Date.UTC(date.year, date.month - 1, date.day + period.days));
    return { year: moved.getUTCFullYear(), month: moved.getUTCMonth() + 1, day: moved.getUTCDate() };
  }
  const months = date.year * 12 + (date.month - 1) + period.months;
  const year = Math.floor(months / 12);
  const month = (months % 12) + 1;
  return { year, month, day: Math.min(date.day, daysInMonth(year, month)) };
}

/** The end of the last day of a period that starts with the event at `from`: the next local midnight. */
function endOfPeriod(from: number, period: Period, timeZone: string): number {
  const last = addToDate(localDateOf(from, timeZone), period);
  return startOfLocalDay(addToDate(last, { days: 1 }), timeZone);
}

function periodOf(regulation: Regulation, options: DeadlineOptions): Period {
  const regime = REGIMES[regulation];
  if (regime.period) return regime.period;
  if (!options.customDays) throw new Error('a custom regulation needs the policy’s number of days');
  return { days: options.customDays };
}

/** When a request received (or verified, where verification does not count) at `from` is due. */
export function dueAt(regulation: Regulation, from: Date | string, options: DeadlineOptions): Date {
  const start = new Date(from).getTime();
  if (options.periodOverrideMs) return new Date(start + options.periodOverrideMs);
  return new Date(endOfPeriod(start, periodOf(regulation, options), options.timeZone));
}

/**
 * The due date after the one extension, or null when the regime allows none. The extension adds
 * to the period (GDPR: "two further months", so received 31 January is due 30 April once
 * extended), from the same start as the period.
 */
export function extendedDueAt(regulation: Regulation, from: Date | string, options: DeadlineOptions): Date | null {
  const extension = REGIMES[regulation].extension;
  if (!extension) return null;
  const override = options.extensionOverrideMs ?? options.periodOverrideMs;
  if (override) return new Date(dueAt(regulation, from, options).getTime() + override);
  const period = periodOf(regulation, options);
  const combined: Period = 'months' in period && 'months' in extension ? { months: period.months + extension.months } : { days: daysOf(period) + daysOf(extension) };
  return new Date(endOfPeriod(new Date(from).getTime(), combined, options.timeZone));
}

const daysOf = (period: Period): number => {
  if ('days' in period) return period.days;
  throw new Error('a period in months cannot be added to one in days');
};

/** CCPA: the end of the tenth business day (Monday to Friday) after receipt; null for other regimes. */
export function acknowledgeBy(regulation: Regulation, received: Date | string, options: Pick<DeadlineOptions, 'timeZone'>): Date | null {
  const days = REGIMES[regulation].acknowledgeBusinessDays;
  if (!days) return null;
  let date = localDateOf(new Date(received).getTime(), options.timeZone);
  let counted = 0;
  while (counted < days) {
    date = addToDate(date, { days: 1 });
    const weekday = new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay();
    if (weekday !== 0 && weekday !== 6) counted += 1;
  }
  return new Date(startOfLocalDay(addToDate(date, { days: 1 }), options.timeZone));
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Whole days left until the due date, rounded up; negative once overdue; null without a due date. */
export function daysLeft(due: Date | string | null, now: Date | string): number | null {
  if (!due) return null;
  const left = new Date(due).getTime() - new Date(now).getTime();
  return left >= 0 ? Math.ceil(left / DAY_MS) : -Math.ceil(-left / DAY_MS);
}
