/** DSRFLOW_SMTP_URL and DSRFLOW_MESSAGE_FROM: parsed at start, refused with a message that never repeats the password. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { addressOf, messageIdFor } from '../../src/messages/smtp.js';

describe('messaging configuration', () => {
  it('has no SMTP server and a local sender by default', () => {
    expect(loadConfig({}).messaging).toEqual({ smtp: undefined, from: 'dsrflow <privacy@localhost>' });
  });

  it('reads smtp:// and smtps:// URLs, with percent-encoded credentials and default ports', () => {
    expect(loadConfig({ DSRFLOW_SMTP_URL: 'smtp://user%40corp:p%2Fss@mail.example.com:2525' }).messaging.smtp).toEqual({
      host: 'mail.example.com',
      port: 2525,
      secure: false,
      user: 'user@corp',
      password: 'p/ss',
      timeoutMs: 30_000,
    });
    expect(loadConfig({ DSRFLOW_SMTP_URL: 'smtps://mail.example.com', DSRFLOW_SMTP_TIMEOUT: '5s' }).messaging.smtp).toEqual({
      host: 'mail.example.com',
      port: 465,
      secure: true,
      user: undefined,
      password: undefined,
      timeoutMs: 5_000,
    });
    expect(loadConfig({ DSRFLOW_SMTP_URL: 'smtp://[::1]' }).messaging.smtp).toMatchObject({ host: '::1', port: 587 });
  });

  it('refuses other URLs without repeating them', () => {
    for (const url of ['http://user:hunter2@mail.example.com', 'smtp://', 'mail.example.com:587', 'smtp:///x']) {
      let message = '';
      try {
        loadConfig({ DSRFLOW_SMTP_URL: url });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message, url).toMatch(/DSRFLOW_SMTP_URL: expected a URL such as smtp:\/\//);
      expect(message).not.toContain('hunter2');
    }
  });

  it('reads the sender, and refuses one that is not an address', () => {
    expect(loadConfig({ DSRFLOW_MESSAGE_FROM: 'Privacy team <privacy@example.com>' }).messaging.from).toBe('Privacy team <privacy@example.com>');
    expect(loadConfig({ DSRFLOW_MESSAGE_FROM: 'privacy@example.com' }).messaging.from).toBe('privacy@example.com');
    expect(() => loadConfig({ DSRFLOW_MESSAGE_FROM: 'privacy team' })).toThrow(/DSRFLOW_MESSAGE_FROM: expected an address/);
    expect(() => loadConfig({ DSRFLOW_MESSAGE_FROM: 'a@b\r\nBcc: c@d' })).toThrow(/DSRFLOW_MESSAGE_FROM/);
    expect(addressOf('Privacy team <privacy@example.com>')).toBe('privacy@example.com');
    expect(addressOf('privacy@example.com')).toBe('privacy@example.com');
  });

  it('derives the Message-ID from the idempotency key', () => {
    expect(messageIdFor('pri_1:receipt')).toBe(messageIdFor('pri_1:receipt'));
    expect(messageIdFor('pri_1:receipt')).not.toBe(messageIdFor('pri_1:denial'));
    expect(messageIdFor('pri_1:receipt')).toMatch(/^<[0-9a-f]{64}@dsrflow>$/);
  });
});
