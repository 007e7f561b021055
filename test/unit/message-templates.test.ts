/** The built-in messages render for every type, values are escaped in HTML, and broken templates are refused with the part named. */
import { describe, expect, it } from 'vitest';
import {
  checkTemplate,
  DEFAULT_TEMPLATES,
  formatTimestamp,
  MESSAGE_TYPES,
  MESSAGE_VARIABLES,
  OPTIONAL_VARIABLES,
  renderMessage,
  renderPart,
  sampleVariables,
  TemplateError,
} from '../../src/messages/templates.js';

const errorOf = (run: () => unknown): TemplateError => {
  try {
    run();
  } catch (error) {
    if (error instanceof TemplateError) return error;
    throw error;
  }
  throw new Error('expected a TemplateError');
};

describe('built-in templates', () => {
  for (const type of MESSAGE_TYPES) {
    it(`${type}: renders with every variable, each value in the text and the HTML`, () => {
      expect(checkTemplate(type, DEFAULT_TEMPLATES[type])).toEqual([]);
      const variables = sampleVariables(type);
      const message = renderMessage(type, DEFAULT_TEMPLATES[type], variables);
      expect(message.subject.length).toBeGreaterThan(10);
      expect(message.subject).not.toMatch(/[\r\n{}]/);
      // The deadline is for the messages about the wait; the others need not repeat it.
      for (const name of MESSAGE_VARIABLES[type].filter((name) => name !== 'due_at' || type === 'receipt' || type === 'extension')) {
        expect(message.text, `${type} text shows ${name}`).toContain(variables[name]!);
        expect(message.html, `${type} html shows ${name}`).toContain(variables[name]!.replace(/&/g, '&amp;'));
      }
      expect(message.text).not.toMatch(/\{\{|\}\}|  |\n\n\n/);
      expect(message.html).not.toMatch(/\{\{|\}\}/);
      expect(message.html).toMatch(/^<!doctype html>/);
    });

    it(`${type}: reads well with every optional value empty`, () => {
      const variables = Object.fromEntries(MESSAGE_VARIABLES[type].map((name) => [name, OPTIONAL_VARIABLES.includes(name) ? null : sampleVariables(type)[name]!]));
      const message = renderMessage(type, DEFAULT_TEMPLATES[type], variables);
      expect(message.text).not.toMatch(/  |\n\n\n|: \.|\(\)|by \.|by {2}| \./);
      expect(message.html).not.toMatch(/<p>\s*<\/p>|href=""/);
    });
  }

  it('says what happens next, and the completion reads well without a package link', () => {
    const receipt = renderMessage('receipt', DEFAULT_TEMPLATES.receipt, sampleVariables('receipt'));
    expect(receipt.text).toContain('What happens next');
    expect(receipt.text).toContain('We will answer by 2026-12-23 10:00 UTC at the latest.');

    const withPackage = renderMessage('completion', DEFAULT_TEMPLATES.completion, sampleVariables('completion'));
    expect(withPackage.text).toContain('Download it here:');
    expect(withPackage.html).toContain(`<a href="${sampleVariables('completion').access_package_url!.replace(/&/g, '&amp;')}">`);

    const without = renderMessage('completion', DEFAULT_TEMPLATES.completion, { ...sampleVariables('completion'), access_package_url: null });
    expect(without.text).not.toContain('Download');
    expect(without.text).toContain('We have completed your privacy request (Access request), received on 2026-11-23 10:00 UTC.\n\nNothing more will happen');
    expect(without.html).not.toContain('<a ');

    const denial = renderMessage('denial', DEFAULT_TEMPLATES.denial, { ...sampleVariables('denial'), reason: '' });
    expect(denial.text).not.toContain('Why');
    expect(denial.text).toContain('we will not carry it out.\n\nNothing more will happen');
  });

  it('formats timestamps in UTC to the minute', () => {
    expect(formatTimestamp(new Date('2026-11-23T10:00:59.123Z'))).toBe('2026-11-23 10:00 UTC');
    expect(formatTimestamp(null)).toBeNull();
  });
});

describe('the renderer', () => {
  const allowed = ['name', 'reason', 'url'];

  it('escapes values in the HTML part only, and keeps a header on one line', () => {
    const value = `<script>alert("x")</script> & 'quotes'`;
    expect(renderPart('<p>{{name}}</p>', 'html', allowed, { name: value })).toBe('<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quotes&#39;</p>');
    expect(renderPart('{{name}}', 'text', allowed, { name: value })).toBe(`${value}\n`);
    expect(renderPart('Re: {{name}}', 'subject', allowed, { name: 'a\r\nBcc: evil@example.com' })).toBe('Re: a Bcc: evil@example.com');
  });

  it('keeps a section when its value is set, an inverted one when it is empty', () => {
    const template = '{{#url}}Get it at {{url}}.{{/url}}{{^url}}Nothing to download.{{/url}}';
    expect(renderPart(template, 'text', allowed, { url: 'https://x' })).toBe('Get it at https://x.\n');
    expect(renderPart(template, 'text', allowed, { url: null })).toBe('Nothing to download.\n');
    expect(renderPart(template, 'text', allowed, {})).toBe('Nothing to download.\n');
    expect(renderPart('{{ name }}', 'text', allowed, { name: 'spaced' })).toBe('spaced\n');
  });

  it('does not read placeholders out of values', () => {
    expect(renderPart('{{name}}', 'text', allowed, { name: '{{reason}}' })).toBe('{{reason}}\n');
  });

  it('refuses an unknown variable, naming the part and the variable', () => {
    const error = errorOf(() => renderPart('<p>{{foo}}</p>', 'html', allowed, {}));
    expect(error.message).toBe('html: unknown variable {{foo}}');
    expect(error.part).toBe('html');
    expect(error.variable).toBe('foo');
    expect(errorOf(() => renderPart('{{#foo}}x{{/foo}}', 'text', allowed, {})).message).toBe('text: unknown variable {{foo}}');
    // Every type may use only its own variables.
    expect(checkTemplate('receipt', { ...DEFAULT_TEMPLATES.receipt, text: 'Your code: {{code}}' }).map((e) => e.message)).toEqual(['text: unknown variable {{code}}']);
  });

  it('refuses unclosed braces, naming the part and the variable', () => {
    const error = errorOf(() => renderPart('Hello {{name', 'subject', allowed, {}));
    expect(error.message).toMatch(/^subject: unclosed \{\{name/);
    expect(error.variable).toBe('name');
    expect(errorOf(() => renderPart('{{name {{reason}}', 'text', allowed, {})).message).toMatch(/^text: unclosed \{\{name/);
    expect(errorOf(() => renderPart('end {{', 'html', allowed, {})).message).toMatch(/^html: unclosed \{\{/);
  });

  it('refuses sections that are not closed, or closed wrongly, and placeholders that are not names', () => {
    expect(errorOf(() => renderPart('{{#url}}x', 'text', allowed, {})).message).toBe('text: the section {{#url}} is never closed with {{/url}}');
    expect(errorOf(() => renderPart('x{{/url}}', 'text', allowed, {})).message).toBe('text: {{/url}} closes no section');
    expect(errorOf(() => renderPart('{{#url}}{{#name}}x{{/url}}{{/name}}', 'html', allowed, {})).message).toMatch(/^html: \{\{\/url\}\} closes the section \{\{#name\}\}/);
    expect(errorOf(() => renderPart('{{Name}}', 'subject', allowed, {})).message).toMatch(/^subject: \{\{Name\}\} is not a placeholder/);
    expect(errorOf(() => renderPart('{{}}', 'text', allowed, {})).message).toMatch(/^text: \{\{\}\} is not a placeholder/);
  });

  it('checks every part of a template at once, and refuses an empty subject', () => {
    const errors = checkTemplate('denial', { subject: '{{#reason}}{{reason}}{{/reason}}', text: '{{oops', html: '<p>{{foo}}</p>' });
    expect(errors.map((error) => error.message)).toEqual(['subject: the subject is empty', expect.stringMatching(/^text: unclosed \{\{oops/), 'html: unknown variable {{foo}}']);
  });
});
