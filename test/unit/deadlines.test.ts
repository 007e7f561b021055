/**
 * Deadline arithmetic (src/domain/deadlines.ts), every expectation computed by hand.
 *
 * The convention: the day of receipt does not count, and a due date is the instant its last day
 * ENDS in the time zone, i.e. the next local midnight. "Due 28 Feb" in UTC is therefore
 * 2026-03-01T00:00:00.000Z, in New York (EST) 2026-03-01T05:00:00.000Z. Each row's comment names
 * the local last day.
 *
 * Calendar facts used below: 1 Jan 2026 is a Thursday; 2028 is a leap year; Europe/Berlin moves to
 * CEST on Sun 29 Mar 2026 and back to CET on Sun 25 Oct 2026; America/New_York moves to EDT on Sun
 * 8 Mar 2026 and back to EST on Sun 1 Nov 2026.
 */
import { describe, expect, it } from 'vitest';
import {
  acknowledgeBy,
  daysLeft,
  dueAt,
  extendedDueAt,
  isTimeZone,
  REGIMES,
  REGULATIONS,
  type DeadlineOptions,
  type Regulation,
} from '../../src/domain/deadlines.js';

const UTC: DeadlineOptions = { timeZone: 'UTC' };
const NEW_YORK: DeadlineOptions = { timeZone: 'America/New_York' };
const BERLIN: DeadlineOptions = { timeZone: 'Europe/Berlin' };
const TOKYO: DeadlineOptions = { timeZone: 'Asia/Tokyo' };

const iso = (date: Date | null) => (date ? date.toISOString() : null);
const US_45_DAYS = ['ccpa', 'vcdpa', 'cpa', 'ctdpa', 'tdpsa'] as const satisfies readonly Regulation[];

describe('REGIMES', () => {
  it('has one regime per regulation', () => {
    expect(Object.keys(REGIMES).sort()).toEqual([...REGULATIONS].sort());
  });

  it.each([
    // regulation, period, extension, acknowledge business days, verification time counts
    ['gdpr', { months: 1 }, { months: 2 }, null, false],
    ['ccpa', { days: 45 }, { days: 45 }, 10, true],
    ['vcdpa', { days: 45 }, { days: 45 }, null, true],
    ['cpa', { days: 45 }, { days: 45 }, null, true],
    ['ctdpa', { days: 45 }, { days: 45 }, null, true],
    ['tdpsa', { days: 45 }, { days: 45 }, null, true],
    ['lgpd', { days: 15 }, null, null, true],
    ['custom', null, null, null, true],
  ] as const)('%s: period %j, extension %j, acknowledge in %s business days, verification counts: %s', (regulation, period, extension, acknowledge, verificationCounts) => {
    const regime = REGIMES[regulation];
    expect(regime.period).toEqual(period);
    expect(regime.extension).toEqual(extension);
    expect(regime.acknowledgeBusinessDays).toBe(acknowledge);
    expect(regime.verificationCounts).toBe(verificationCounts);
  });

  it('knows IANA time zones', () => {
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('America/New_York')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isTimeZone('')).toBe(false);
  });
});

describe('GDPR: one month (UTC)', () => {
  it.each([
    ['2026-01-15T12:00:00.000Z', '2026-02-16T00:00:00.000Z'], // due 15 Feb: the same date of the next month
    ['2026-01-31T10:00:00.000Z', '2026-03-01T00:00:00.000Z'], // due 28 Feb: February has no 31st
    ['2026-01-30T10:00:00.000Z', '2026-03-01T00:00:00.000Z'], // due 28 Feb: February 2026 has no 30th
    ['2026-01-29T10:00:00.000Z', '2026-03-01T00:00:00.000Z'], // due 28 Feb: no 29th in 2026
    ['2026-01-28T10:00:00.000Z', '2026-03-01T00:00:00.000Z'], // due 28 Feb
    ['2028-01-31T10:00:00.000Z', '2028-03-01T00:00:00.000Z'], // leap year: due 29 Feb 2028
    ['2028-01-30T10:00:00.000Z', '2028-03-01T00:00:00.000Z'], // leap year: due 29 Feb 2028
    ['2028-01-29T10:00:00.000Z', '2028-03-01T00:00:00.000Z'], // leap year: due 29 Feb 2028
    ['2028-01-28T10:00:00.000Z', '2028-02-29T00:00:00.000Z'], // leap year: due 28 Feb 2028
    ['2026-02-28T10:00:00.000Z', '2026-03-29T00:00:00.000Z'], // due 28 Mar
    ['2028-02-29T10:00:00.000Z', '2028-03-30T00:00:00.000Z'], // received on the leap day: due 29 Mar
    ['2026-03-31T10:00:00.000Z', '2026-05-01T00:00:00.000Z'], // due 30 Apr: April has no 31st
    ['2026-03-30T10:00:00.000Z', '2026-05-01T00:00:00.000Z'], // due 30 Apr
    ['2026-04-30T10:00:00.000Z', '2026-05-31T00:00:00.000Z'], // due 30 May (not the month's end)
    ['2026-05-31T10:00:00.000Z', '2026-07-01T00:00:00.000Z'], // due 30 Jun
    ['2026-07-31T10:00:00.000Z', '2026-09-01T00:00:00.000Z'], // due 31 Aug: both months have 31 days
    ['2026-08-31T10:00:00.000Z', '2026-10-01T00:00:00.000Z'], // due 30 Sep
    ['2026-10-31T10:00:00.000Z', '2026-12-01T00:00:00.000Z'], // due 30 Nov
    ['2026-11-30T10:00:00.000Z', '2026-12-31T00:00:00.000Z'], // due 30 Dec
    ['2026-12-15T10:00:00.000Z', '2027-01-16T00:00:00.000Z'], // due 15 Jan 2027
    ['2026-12-31T10:00:00.000Z', '2027-02-01T00:00:00.000Z'], // due 31 Jan 2027: across the year end
    ['2026-01-31T00:00:00.000Z', '2026-03-01T00:00:00.000Z'], // received at the first instant of 31 Jan: due 28 Feb
    ['2026-01-31T23:59:59.999Z', '2026-03-01T00:00:00.000Z'], // received at the last instant of 31 Jan: due 28 Feb
  ])('received %s: due %s', (received, due) => {
    expect(iso(dueAt('gdpr', received, UTC))).toBe(due);
    expect(iso(dueAt('gdpr', new Date(received), UTC))).toBe(due);
  });
});

describe('US state laws: 45 days (UTC)', () => {
  it.each([
    ['2026-01-01T10:00:00.000Z', '2026-02-16T00:00:00.000Z'], // 30 days to 31 Jan, 15 more: due 15 Feb
    ['2026-01-20T10:00:00.000Z', '2026-03-07T00:00:00.000Z'], // 31 Jan (+11), 28 Feb (+39): due 6 Mar
    ['2028-01-20T10:00:00.000Z', '2028-03-06T00:00:00.000Z'], // leap year: 31 Jan (+11), 29 Feb (+40): due 5 Mar
    ['2026-01-31T10:00:00.000Z', '2026-03-18T00:00:00.000Z'], // 28 Feb (+28): due 17 Mar
    ['2028-01-31T10:00:00.000Z', '2028-03-17T00:00:00.000Z'], // leap year: 29 Feb (+29): due 16 Mar
    ['2026-02-15T10:00:00.000Z', '2026-04-02T00:00:00.000Z'], // 28 Feb (+13), 31 Mar (+44): due 1 Apr
    ['2026-11-20T10:00:00.000Z', '2027-01-05T00:00:00.000Z'], // 30 Nov (+10), 31 Dec (+41): due 4 Jan 2027
    ['2026-12-01T10:00:00.000Z', '2027-01-16T00:00:00.000Z'], // 31 Dec (+30): due 15 Jan 2027
    ['2026-12-31T10:00:00.000Z', '2027-02-15T00:00:00.000Z'], // 31 Jan 2027 (+31): due 14 Feb 2027
  ])('received %s: due %s, for every US regime', (received, due) => {
    for (const regulation of US_45_DAYS) expect(iso(dueAt(regulation, received, UTC)), regulation).toBe(due);
  });
});

describe('LGPD: 15 days (UTC)', () => {
  it.each([
    ['2026-01-20T10:00:00.000Z', '2026-02-05T00:00:00.000Z'], // 31 Jan (+11): due 4 Feb
    ['2026-02-20T10:00:00.000Z', '2026-03-08T00:00:00.000Z'], // 28 Feb (+8): due 7 Mar
    ['2028-02-20T10:00:00.000Z', '2028-03-07T00:00:00.000Z'], // leap year: 29 Feb (+9): due 6 Mar
    ['2026-12-20T10:00:00.000Z', '2027-01-05T00:00:00.000Z'], // 31 Dec (+11): due 4 Jan 2027
    ['2026-04-30T10:00:00.000Z', '2026-05-16T00:00:00.000Z'], // due 15 May
  ])('received %s: due %s', (received, due) => {
    expect(iso(dueAt('lgpd', received, UTC))).toBe(due);
  });
});

describe('custom: the policy’s number of days (UTC)', () => {
  it.each([
    [1, '2026-02-28T10:00:00.000Z', '2026-03-02T00:00:00.000Z'], // due 1 Mar
    [1, '2028-02-28T10:00:00.000Z', '2028-03-01T00:00:00.000Z'], // leap year: due 29 Feb
    [10, '2026-12-25T10:00:00.000Z', '2027-01-05T00:00:00.000Z'], // 31 Dec (+6): due 4 Jan 2027
    [30, '2026-01-31T10:00:00.000Z', '2026-03-03T00:00:00.000Z'], // 28 Feb (+28): due 2 Mar
    [365, '2027-03-01T10:00:00.000Z', '2028-03-01T00:00:00.000Z'], // the year holds 29 Feb 2028: due 29 Feb 2028
    [365, '2026-03-01T10:00:00.000Z', '2027-03-02T00:00:00.000Z'], // no leap day: due 1 Mar 2027
  ])('%i days, received %s: due %s', (customDays, received, due) => {
    expect(iso(dueAt('custom', received, { ...UTC, customDays }))).toBe(due);
  });

  it('needs the number of days', () => {
    expect(() => dueAt('custom', '2026-01-01T00:00:00Z', UTC)).toThrow(/number of days/);
    expect(() => dueAt('custom', '2026-01-01T00:00:00Z', { ...UTC, customDays: null })).toThrow(/number of days/);
  });
});

describe('days are counted in the time zone', () => {
  it.each([
    // New York: 2026-02-01T04:30Z is 23:30 EST on 31 Jan.
    ['gdpr', '2026-02-01T04:30:00.000Z', NEW_YORK, '2026-03-01T05:00:00.000Z'], // received 31 Jan: due 28 Feb (ends 00:00 EST)
    ['gdpr', '2026-02-01T04:30:00.000Z', UTC, '2026-03-02T00:00:00.000Z'], // received 1 Feb: due 1 Mar
    ['ccpa', '2026-02-01T04:30:00.000Z', NEW_YORK, '2026-03-18T04:00:00.000Z'], // received 31 Jan: due 17 Mar (ends 00:00 EDT)
    ['ccpa', '2026-02-01T04:30:00.000Z', UTC, '2026-03-19T00:00:00.000Z'], // received 1 Feb: due 18 Mar
    ['ccpa', '2026-01-31T05:00:00.000Z', NEW_YORK, '2026-03-18T04:00:00.000Z'], // 00:00 EST 31 Jan is 31 Jan: due 17 Mar
    ['ccpa', '2026-01-31T04:59:59.999Z', NEW_YORK, '2026-03-17T04:00:00.000Z'], // 23:59:59.999 EST 30 Jan: due 16 Mar
    // Tokyo (UTC+9): 23:30Z is 08:30 the next day.
    ['gdpr', '2026-01-14T23:30:00.000Z', TOKYO, '2026-02-15T15:00:00.000Z'], // received 15 Jan: due 15 Feb (ends 00:00 JST 16 Feb)
    ['gdpr', '2026-01-14T23:30:00.000Z', UTC, '2026-02-15T00:00:00.000Z'], // received 14 Jan: due 14 Feb
    ['ccpa', '2026-12-31T23:30:00.000Z', TOKYO, '2027-02-15T15:00:00.000Z'], // received 1 Jan 2027: due 15 Feb 2027
    ['ccpa', '2026-12-31T23:30:00.000Z', UTC, '2027-02-15T00:00:00.000Z'], // received 31 Dec 2026: due 14 Feb 2027
    ['lgpd', '2026-12-31T23:30:00.000Z', TOKYO, '2027-01-16T15:00:00.000Z'], // received 1 Jan 2027: due 16 Jan 2027
    // Berlin (CET, UTC+1 in winter): 23:30Z is 00:30 the next day.
    ['gdpr', '2026-01-31T23:30:00.000Z', BERLIN, '2026-03-01T23:00:00.000Z'], // received 1 Feb: due 1 Mar (ends 00:00 CET 2 Mar)
    ['gdpr', '2026-01-31T23:30:00.000Z', UTC, '2026-03-01T00:00:00.000Z'], // received 31 Jan: due 28 Feb
    ['gdpr', '2026-12-31T23:30:00.000Z', BERLIN, '2027-02-01T23:00:00.000Z'], // received 1 Jan 2027: due 1 Feb 2027 (ends 00:00 CET 2 Feb)
    ['custom', '2026-12-31T23:30:00.000Z', BERLIN, '2027-01-02T23:00:00.000Z'], // 1 day, received 1 Jan 2027: due 2 Jan 2027 (ends 00:00 CET 3 Jan)
  ] as const)('%s received %s in %j: due %s', (regulation, received, options, due) => {
    expect(iso(dueAt(regulation, received, { ...options, customDays: 1 }))).toBe(due);
  });
});

describe('daylight saving time', () => {
  it.each([
    // Europe/Berlin, spring: 29 Mar 2026 02:00 CET → 03:00 CEST.
    ['gdpr', '2026-02-28T12:00:00.000Z', BERLIN, '2026-03-28T23:00:00.000Z'], // due 28 Mar: ends 00:00 CET 29 Mar, before the change
    ['lgpd', '2026-03-14T12:00:00.000Z', BERLIN, '2026-03-29T22:00:00.000Z'], // due 29 Mar, a day of 23 hours: ends 00:00 CEST 30 Mar
    ['gdpr', '2026-03-01T12:00:00.000Z', BERLIN, '2026-04-01T22:00:00.000Z'], // received in CET, due 1 Apr in CEST
    ['ccpa', '2026-02-20T12:00:00.000Z', BERLIN, '2026-04-06T22:00:00.000Z'], // 28 Feb (+8), 31 Mar (+39): due 6 Apr (CEST)
    ['gdpr', '2026-03-28T23:30:00.000Z', BERLIN, '2026-04-29T22:00:00.000Z'], // 00:30 CET on 29 Mar: received 29 Mar, due 29 Apr
    ['gdpr', '2026-03-29T21:30:00.000Z', BERLIN, '2026-04-29T22:00:00.000Z'], // 23:30 CEST on 29 Mar: received 29 Mar, due 29 Apr
    ['gdpr', '2026-03-29T22:30:00.000Z', BERLIN, '2026-04-30T22:00:00.000Z'], // 00:30 CEST on 30 Mar: received 30 Mar, due 30 Apr
    // Europe/Berlin, autumn: 25 Oct 2026 03:00 CEST → 02:00 CET.
    ['gdpr', '2026-09-25T10:00:00.000Z', BERLIN, '2026-10-25T23:00:00.000Z'], // due 25 Oct, a day of 25 hours: ends 00:00 CET 26 Oct
    ['gdpr', '2026-10-24T22:30:00.000Z', BERLIN, '2026-11-25T23:00:00.000Z'], // 00:30 CEST on 25 Oct: received 25 Oct, due 25 Nov
    ['gdpr', '2026-10-25T22:30:00.000Z', BERLIN, '2026-11-25T23:00:00.000Z'], // 23:30 CET on 25 Oct: received 25 Oct, due 25 Nov
    ['gdpr', '2026-10-25T23:30:00.000Z', BERLIN, '2026-11-26T23:00:00.000Z'], // 00:30 CET on 26 Oct: received 26 Oct, due 26 Nov
    ['lgpd', '2026-10-10T10:00:00.000Z', BERLIN, '2026-10-25T23:00:00.000Z'], // due 25 Oct (+15)
    // America/New_York, spring: 8 Mar 2026 02:00 EST → 03:00 EDT.
    ['ccpa', '2026-01-25T15:00:00.000Z', NEW_YORK, '2026-03-12T04:00:00.000Z'], // 31 Jan (+6), 28 Feb (+34): due 11 Mar (EDT)
    ['ccpa', '2026-01-22T15:00:00.000Z', NEW_YORK, '2026-03-09T04:00:00.000Z'], // due 8 Mar, the day of the change: ends 00:00 EDT 9 Mar
    ['gdpr', '2026-03-08T04:30:00.000Z', NEW_YORK, '2026-04-08T04:00:00.000Z'], // 23:30 EST on 7 Mar: received 7 Mar, due 7 Apr
    // America/New_York, autumn: 1 Nov 2026 02:00 EDT → 01:00 EST.
    ['ccpa', '2026-09-20T16:00:00.000Z', NEW_YORK, '2026-11-05T05:00:00.000Z'], // 30 Sep (+10), 31 Oct (+41): due 4 Nov (EST)
    ['ccpa', '2026-09-17T16:00:00.000Z', NEW_YORK, '2026-11-02T05:00:00.000Z'], // due 1 Nov, the day of the change: ends 00:00 EST 2 Nov
  ] as const)('%s received %s in %j: due %s', (regulation, received, options, due) => {
    expect(iso(dueAt(regulation, received, options))).toBe(due);
  });

  it.each([
    // Where the clock skips midnight, the last day ends at the first instant of the next day.
    // America/Santiago, 6 Sep 2026: 00:00 (UTC−4) → 01:00 (UTC−3), so 6 Sep begins at 04:00Z.
    ['America/Santiago', '2026-09-04T15:00:00.000Z', '2026-09-06T04:00:00.000Z'], // 1 day from 4 Sep: due 5 Sep
    // America/Sao_Paulo, 4 Nov 2018: 00:00 (UTC−3) → 01:00 (UTC−2), so 4 Nov begins at 03:00Z.
    ['America/Sao_Paulo', '2018-11-02T12:00:00.000Z', '2018-11-04T03:00:00.000Z'], // 1 day from 2 Nov: due 3 Nov
    // America/Sao_Paulo, 17 Feb 2019: 00:00 (UTC−2) → 23:00 on 16 Feb (UTC−3), so 17 Feb begins at 03:00Z.
    ['America/Sao_Paulo', '2019-02-15T12:00:00.000Z', '2019-02-17T03:00:00.000Z'], // 1 day from 15 Feb: due 16 Feb
    // Pacific/Apia skipped 30 Dec 2011: 24:00 on 29 Dec (UTC−10) became 00:00 on 31 Dec (UTC+14), at 10:00Z.
    ['Pacific/Apia', '2011-12-28T12:00:00.000Z', '2011-12-30T10:00:00.000Z'], // 1 day from 28 Dec: due 29 Dec
  ])('%s, a clock change at midnight: 1 day from %s is due %s', (timeZone, received, due) => {
    expect(iso(dueAt('custom', received, { timeZone, customDays: 1 }))).toBe(due);
  });
});

describe('the one extension, counted from the start of the period', () => {
  it.each([
    // GDPR: three months in all from the period start, not two months from the first due date.
    ['gdpr', '2026-01-15T10:00:00.000Z', UTC, '2026-04-16T00:00:00.000Z'], // due 15 Apr
    ['gdpr', '2026-01-31T10:00:00.000Z', UTC, '2026-05-01T00:00:00.000Z'], // due 30 Apr (28 Feb + 2 months would be 28 Apr)
    ['gdpr', '2026-10-31T10:00:00.000Z', UTC, '2027-02-01T00:00:00.000Z'], // due 31 Jan 2027
    ['gdpr', '2026-11-30T10:00:00.000Z', UTC, '2027-03-01T00:00:00.000Z'], // due 28 Feb 2027
    ['gdpr', '2027-11-30T10:00:00.000Z', UTC, '2028-03-01T00:00:00.000Z'], // leap year: due 29 Feb 2028
    ['gdpr', '2026-12-31T10:00:00.000Z', UTC, '2027-04-01T00:00:00.000Z'], // due 31 Mar 2027
    ['gdpr', '2026-02-01T04:30:00.000Z', NEW_YORK, '2026-05-01T04:00:00.000Z'], // received 31 Jan (EST): due 30 Apr (ends 00:00 EDT)
    ['gdpr', '2026-01-31T23:30:00.000Z', BERLIN, '2026-05-01T22:00:00.000Z'], // received 1 Feb (CET): due 1 May (ends 00:00 CEST)
    // US state laws: 45 + 45 = 90 days from receipt.
    ['ccpa', '2026-01-01T10:00:00.000Z', UTC, '2026-04-02T00:00:00.000Z'], // 31 Jan (+30), 28 Feb (+58), 31 Mar (+89): due 1 Apr
    ['ccpa', '2028-01-01T10:00:00.000Z', UTC, '2028-04-01T00:00:00.000Z'], // leap year: 29 Feb (+59): due 31 Mar
    ['ccpa', '2026-11-20T10:00:00.000Z', UTC, '2027-02-19T00:00:00.000Z'], // 30 Nov (+10), 31 Dec (+41), 31 Jan (+72): due 18 Feb 2027
    ['ccpa', '2026-12-01T10:00:00.000Z', UTC, '2027-03-02T00:00:00.000Z'], // 31 Dec (+30), 31 Jan (+61), 28 Feb (+89): due 1 Mar 2027
    ['ccpa', '2026-02-01T04:30:00.000Z', NEW_YORK, '2026-05-02T04:00:00.000Z'], // received 31 Jan (EST): 28 Feb (+28), 31 Mar (+59), 30 Apr (+89): due 1 May
    ['vcdpa', '2026-01-01T10:00:00.000Z', UTC, '2026-04-02T00:00:00.000Z'], // due 1 Apr
    ['cpa', '2026-01-01T10:00:00.000Z', UTC, '2026-04-02T00:00:00.000Z'], // due 1 Apr
    ['ctdpa', '2026-01-01T10:00:00.000Z', UTC, '2026-04-02T00:00:00.000Z'], // due 1 Apr
    ['tdpsa', '2026-11-20T10:00:00.000Z', UTC, '2027-02-19T00:00:00.000Z'], // due 18 Feb 2027
    // No extension.
    ['lgpd', '2026-01-01T10:00:00.000Z', UTC, null],
    ['custom', '2026-01-01T10:00:00.000Z', UTC, null],
  ] as const)('%s received %s in %j: extended to %s', (regulation, received, options, due) => {
    expect(iso(extendedDueAt(regulation, received, { ...options, customDays: 30 }))).toBe(due);
  });

  it('is always later than the first due date, by 45 days for the US laws', () => {
    for (const regulation of US_45_DAYS) {
      const first = dueAt(regulation, '2026-06-10T10:00:00Z', UTC).getTime();
      expect(extendedDueAt(regulation, '2026-06-10T10:00:00Z', UTC)!.getTime() - first, regulation).toBe(45 * 86_400_000);
    }
  });
});

describe('CCPA: confirm receipt within 10 business days', () => {
  it.each([
    ['2026-01-01T10:00:00.000Z', UTC, '2026-01-16T00:00:00.000Z'], // Thu 1 Jan: Fri 2 (1), 5–9 (6), 12–15 (10): by Thu 15 Jan (holidays are not skipped)
    ['2026-01-02T10:00:00.000Z', UTC, '2026-01-17T00:00:00.000Z'], // Fri 2 Jan: 5–9 (5), 12–16 (10): by Fri 16 Jan
    ['2026-01-03T10:00:00.000Z', UTC, '2026-01-17T00:00:00.000Z'], // Sat 3 Jan: the weekend counts nothing: by Fri 16 Jan
    ['2026-01-04T10:00:00.000Z', UTC, '2026-01-17T00:00:00.000Z'], // Sun 4 Jan: by Fri 16 Jan
    ['2026-01-05T10:00:00.000Z', UTC, '2026-01-20T00:00:00.000Z'], // Mon 5 Jan: 6–9 (4), 12–16 (9), 19 (10): by Mon 19 Jan
    ['2026-12-25T10:00:00.000Z', UTC, '2027-01-09T00:00:00.000Z'], // Fri 25 Dec: 28–31 (4), Fri 1 Jan (5), 4–8 (10): by Fri 8 Jan 2027
    ['2026-01-06T04:30:00.000Z', NEW_YORK, '2026-01-20T05:00:00.000Z'], // 23:30 EST Mon 5 Jan: by Mon 19 Jan (ends 00:00 EST)
    ['2026-01-06T04:30:00.000Z', UTC, '2026-01-21T00:00:00.000Z'], // Tue 6 Jan in UTC: by Tue 20 Jan
    ['2026-01-01T23:30:00.000Z', TOKYO, '2026-01-16T15:00:00.000Z'], // 08:30 JST Fri 2 Jan: by Fri 16 Jan (ends 00:00 JST 17 Jan)
    ['2026-02-27T15:00:00.000Z', NEW_YORK, '2026-03-14T04:00:00.000Z'], // Fri 27 Feb (EST): 2–6 Mar (5), 9–13 Mar (10): by Fri 13 Mar (ends 00:00 EDT)
  ] as const)('received %s in %j: acknowledge by %s', (received, options, by) => {
    expect(iso(acknowledgeBy('ccpa', received, options))).toBe(by);
  });

  it.each(REGULATIONS.filter((regulation) => regulation !== 'ccpa'))('%s asks for no acknowledgement', (regulation) => {
    expect(acknowledgeBy(regulation, '2026-01-02T10:00:00Z', UTC)).toBeNull();
  });
});

describe('daysLeft', () => {
  const due = '2026-03-01T00:00:00.000Z';
  it.each([
    ['2026-01-15T00:00:00.000Z', 45], // exactly 45 days
    ['2026-02-01T00:00:00.000Z', 28], // exactly 28 days
    ['2026-02-27T23:59:59.999Z', 2], // a day and a millisecond: rounded up
    ['2026-02-28T00:00:00.000Z', 1], // exactly one day
    ['2026-02-28T00:00:00.001Z', 1], // less than a day: rounded up
    ['2026-02-28T23:59:59.999Z', 1], // a millisecond
    [due, 0], // the very instant it is due
    ['2026-03-01T00:00:00.001Z', -1], // a millisecond overdue is already negative
    ['2026-03-02T00:00:00.000Z', -1], // exactly a day overdue
    ['2026-03-02T00:00:00.001Z', -2], // more than a day overdue
    ['2026-03-31T12:00:00.000Z', -31], // 30.5 days overdue
  ])('due %s, now %s: %i', (now, left) => {
    expect(daysLeft(due, now)).toBe(left);
    expect(daysLeft(new Date(due), new Date(now))).toBe(left);
  });

  it('is null without a due date', () => {
    expect(daysLeft(null, '2026-03-01T00:00:00Z')).toBeNull();
  });
});

describe('overrides', () => {
  const received = '2026-01-31T10:00:00.000Z';

  it.each(REGULATIONS)('%s: periodOverrideMs replaces the period (no days counted, no time zone)', (regulation) => {
    for (const options of [UTC, NEW_YORK, TOKYO]) {
      expect(iso(dueAt(regulation, received, { ...options, periodOverrideMs: 30_000 }))).toBe('2026-01-31T10:00:30.000Z');
    }
  });

  it.each([
    // regulation, periodOverrideMs, extensionOverrideMs, extended due date
    ['gdpr', 30_000, null, '2026-01-31T10:01:00.000Z'], // the period override stands in for the extension: +30 s +30 s
    ['ccpa', 30_000, null, '2026-01-31T10:01:00.000Z'],
    ['tdpsa', 30_000, null, '2026-01-31T10:01:00.000Z'],
    ['gdpr', 30_000, 60_000, '2026-01-31T10:01:30.000Z'], // +30 s, then +60 s
    ['vcdpa', 30_000, 60_000, '2026-01-31T10:01:30.000Z'],
    ['gdpr', null, 7 * 86_400_000, '2026-03-08T00:00:00.000Z'], // due 28 Feb (ends 1 Mar 00:00Z) + 7 days
    ['ccpa', null, 86_400_000, '2026-03-19T00:00:00.000Z'], // due 17 Mar (ends 18 Mar 00:00Z) + 1 day
    ['lgpd', 30_000, 60_000, null], // allows no extension, whatever the override
    ['custom', 30_000, 60_000, null],
  ] as const)('%s with periodOverrideMs %s and extensionOverrideMs %s: extended to %s', (regulation, periodOverrideMs, extensionOverrideMs, extended) => {
    expect(iso(extendedDueAt(regulation, received, { ...UTC, periodOverrideMs, extensionOverrideMs }))).toBe(extended);
  });

  it('0 and null mean no override', () => {
    expect(iso(dueAt('gdpr', received, { ...UTC, periodOverrideMs: 0, extensionOverrideMs: 0 }))).toBe('2026-03-01T00:00:00.000Z'); // due 28 Feb
    expect(iso(extendedDueAt('gdpr', received, { ...UTC, periodOverrideMs: null, extensionOverrideMs: null }))).toBe('2026-05-01T00:00:00.000Z'); // due 30 Apr
  });

  it('a custom regulation needs no number of days when the period is overridden', () => {
    expect(iso(dueAt('custom', received, { ...UTC, periodOverrideMs: 1_000 }))).toBe('2026-01-31T10:00:01.000Z');
  });
});
