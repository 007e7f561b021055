import { describe, expect, it } from 'vitest';
import { parseAllowList, refusedPart, type ConnectionTarget } from '../../src/connectors/allow-list.js';
import { ConfigError, loadConfig } from '../../src/config.js';

const target = (host: string, port = 5432, database = 'shop'): ConnectionTarget => ({ host, port, database });

describe('DSRFLOW_CONNECTION_ALLOW patterns', () => {
  const allow = parseAllowList('db.internal:5432/shop, *.corp.example, 10.0.0.5, reports/*, analytics:6543/events_*, [::1]:5432/local');

  it.each([
    [target('db.internal'), undefined],
    [target('DB.Internal.'), undefined], // hosts compare without case or a trailing dot
    [target('db.internal', 5433), 'port'],
    [target('db.internal', 5432, 'Shop'), 'database'], // databases compare with case
    [target('db.internal', 5432, 'postgres'), 'database'],
    [target('billing.corp.example', 5999, 'anything'), undefined],
    [target('a.b.corp.example'), undefined],
    [target('corp.example'), 'host'],
    [target('evil-corp.example'), 'host'],
    [target('10.0.0.5', 1, 'postgres'), undefined],
    [target('10.0.0.50'), 'host'],
    [target('reports', 15432, 'x'), undefined],
    [target('analytics', 6543, 'events_2024'), undefined],
    [target('analytics', 6543, 'users'), 'database'],
    [target('::1', 5432, 'local'), undefined],
    [target('db.other'), 'host'],
  ])('%o → refused part %s', (candidate, part) => {
    expect(refusedPart(candidate, allow)).toBe(part);
  });

  it('admits anything when unset', () => {
    expect(refusedPart(target('anywhere', 1, 'postgres'), undefined)).toBeUndefined();
  });

  it.each(['db:99999', 'db:0', 'db:abc', 'http://db', 'db/shop/x', 'db shop', ',', ''])('refuses the pattern %j', (text) => {
    expect(() => parseAllowList(text)).toThrow();
  });

  it('is read by loadConfig, which names the variable when a pattern is bad', () => {
    expect(loadConfig({ DSRFLOW_CONNECTION_ALLOW: 'db.internal:5432/shop' }).connections.allow).toHaveLength(1);
    expect(loadConfig({}).connections.allow).toBeUndefined();
    expect(() => loadConfig({ DSRFLOW_CONNECTION_ALLOW: 'db.internal:5432/shop,db:99999' })).toThrow(ConfigError);
    expect(() => loadConfig({ DSRFLOW_CONNECTION_ALLOW: 'db:99999' })).toThrow(/DSRFLOW_CONNECTION_ALLOW: "db:99999": the port must be from 1 to 65535/);
  });
});
