/**
 * Messages to the data subject: their types, the variables each may use, the built-in wording,
 * and a small renderer for `{{variable}}` placeholders.
 *
 * Placeholders: `{{name}}` is replaced by the value (HTML-escaped in the HTML body); the section
 * `{{#name}}…{{/name}}` is kept only when the value is not empty, and `{{^name}}…{{/name}}` only
 * when it is. A placeholder naming a variable the message type does not have, or a `{{` that is
 * never closed, is refused with an error naming the part (`subject`, `text`, `html`).
 *
 * Pure: no I/O.
 */

export const MESSAGE_TYPES = ['receipt', 'verification_code', 'extension', 'denial', 'completion'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

export const isMessageType = (value: unknown): value is MessageType => typeof value === 'string' && (MESSAGE_TYPES as readonly string[]).includes(value);

export const TEMPLATE_PARTS = ['subject', 'text', 'html'] as const;
export type TemplatePart = (typeof TEMPLATE_PARTS)[number];

export interface MessageTemplate {
  subject: string;
  text: string;
  html: string;
}

export type MessageVariables = Record<string, string | null | undefined>;

/** What every message may use. */
export const COMMON_VARIABLES = ['privacy_request_id', 'policy_name', 'received_at', 'due_at'] as const;

/** The variables each message type may use, the common ones first. */
export const MESSAGE_VARIABLES: Record<MessageType, readonly string[]> = {
  receipt: [...COMMON_VARIABLES],
  verification_code: [...COMMON_VARIABLES, 'code', 'expires_at'],
  extension: [...COMMON_VARIABLES, 'extended_due_at', 'reason'],
  denial: [...COMMON_VARIABLES, 'reason'],
  completion: [...COMMON_VARIABLES, 'access_package_url'],
};

/** Variables that may be empty: a request without a deadline, a reason not given, a completion without a package. */
export const OPTIONAL_VARIABLES: readonly string[] = ['due_at', 'reason', 'access_package_url'];

/** Values that show how a template reads; the API renders a new template with them before storing it. */
export const SAMPLE_VARIABLES: Record<string, string> = {
  privacy_request_id: 'pri_5f4feff5-fb60-4286-82bd-7e0748ce90ac',
  policy_name: 'Access request',
  received_at: '2026-11-23 10:00 UTC',
  due_at: '2026-12-23 10:00 UTC',
  code: '493027',
  expires_at: '2026-11-23 10:15 UTC',
  extended_due_at: '2027-02-23 10:00 UTC',
  reason: 'The request covers many systems',
  access_package_url: 'https://privacy.example.com/api/v1/privacy-request/pri_5f4feff5/access-package/download?expires=1796400000&signature=abc',
};

export const sampleVariables = (type: MessageType): Record<string, string> =>
  Object.fromEntries(MESSAGE_VARIABLES[type].map((name) => [name, SAMPLE_VARIABLES[name] ?? name]));

/** A timestamp as messages show it: `2026-11-23 10:00 UTC`. */
export function formatTimestamp(value: Date | string | null | undefined): string | null {
  if (value === null || value === undefined || value === '') return null;
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

// ---- Built-in wording --------------------------------------------------------------------------

const html = (...paragraphs: string[]) =>
  '<!doctype html>\n<html><body style="font-family: sans-serif; line-height: 1.5">\n' + paragraphs.map((paragraph) => `<p>${paragraph}</p>`).join('\n') + '\n</body></html>\n';

const REFERENCE_TEXT = 'Reference: {{privacy_request_id}}';
const REFERENCE_HTML = 'Reference: <code>{{privacy_request_id}}</code>';

export const DEFAULT_TEMPLATES: Record<MessageType, MessageTemplate> = {
  receipt: {
    subject: 'We received your privacy request',
    text: [
      'Hello,',
      'We received your privacy request ({{policy_name}}) on {{received_at}}.',
      'What happens next: we check the request and then carry it out. {{#due_at}}We will answer by {{due_at}} at the latest. {{/due_at}}We will write to you again when it is done, or if we need something from you. You do not need to do anything now.',
      'If you did not make this request, please reply to this message.',
      REFERENCE_TEXT,
    ].join('\n\n'),
    html: html(
      'Hello,',
      'We received your privacy request ({{policy_name}}) on {{received_at}}.',
      'What happens next: we check the request and then carry it out. {{#due_at}}We will answer by <strong>{{due_at}}</strong> at the latest. {{/due_at}}We will write to you again when it is done, or if we need something from you. You do not need to do anything now.',
      'If you did not make this request, please reply to this message.',
      REFERENCE_HTML,
    ),
  },
  verification_code: {
    subject: 'Your verification code: {{code}}',
    text: [
      'Hello,',
      'To confirm that you made the privacy request ({{policy_name}}) we received on {{received_at}}, enter this code:',
      '{{code}}',
      'The code works until {{expires_at}}. We start on the request only once it is confirmed.',
      'If you did not make this request, ignore this message: nothing will be done without the code.',
      REFERENCE_TEXT,
    ].join('\n\n'),
    html: html(
      'Hello,',
      'To confirm that you made the privacy request ({{policy_name}}) we received on {{received_at}}, enter this code:',
      '<strong style="font-size: 1.5em; letter-spacing: 0.2em">{{code}}</strong>',
      'The code works until {{expires_at}}. We start on the request only once it is confirmed.',
      'If you did not make this request, ignore this message: nothing will be done without the code.',
      REFERENCE_HTML,
    ),
  },
  extension: {
    subject: 'We need more time for your privacy request',
    text: [
      'Hello,',
      'We received your privacy request ({{policy_name}}) on {{received_at}}{{#due_at}} and were to answer it by {{due_at}}{{/due_at}}. We need more time to complete it: we will answer by {{extended_due_at}} at the latest.',
      '{{#reason}}Why: {{reason}}\n\n{{/reason}}You do not need to do anything. We will write to you again when it is done.',
      REFERENCE_TEXT,
    ].join('\n\n'),
    html: html(
      'Hello,',
      'We received your privacy request ({{policy_name}}) on {{received_at}}{{#due_at}} and were to answer it by {{due_at}}{{/due_at}}. We need more time to complete it: we will answer by <strong>{{extended_due_at}}</strong> at the latest.',
      '{{#reason}}Why: {{reason}}</p>\n<p>{{/reason}}You do not need to do anything. We will write to you again when it is done.',
      REFERENCE_HTML,
    ),
  },
  denial: {
    subject: 'We could not carry out your privacy request',
    text: [
      'Hello,',
      'We received your privacy request ({{policy_name}}) on {{received_at}}, and we will not carry it out.',
      '{{#reason}}Why: {{reason}}\n\n{{/reason}}Nothing more will happen with this request. If you think this is wrong, reply to this message, or make a new request.',
      REFERENCE_TEXT,
    ].join('\n\n'),
    html: html(
      'Hello,',
      'We received your privacy request ({{policy_name}}) on {{received_at}}, and we will not carry it out.',
      '{{#reason}}Why: {{reason}}</p>\n<p>{{/reason}}Nothing more will happen with this request. If you think this is wrong, reply to this message, or make a new request.',
      REFERENCE_HTML,
    ),
  },
  completion: {
    subject: 'Your privacy request is complete',
    text: [
      'Hello,',
      'We have completed your privacy request ({{policy_name}}), received on {{received_at}}.',
      '{{#access_package_url}}Your data is ready. Download it here:\n\n{{access_package_url}}\n\nThe link works for a limited time, so please download the file soon.\n\n{{/access_package_url}}Nothing more will happen with this request, and you do not need to do anything.',
      REFERENCE_TEXT,
    ].join('\n\n'),
    html: html(
      'Hello,',
      'We have completed your privacy request ({{policy_name}}), received on {{received_at}}.',
      '{{#access_package_url}}Your data is ready: <a href="{{access_package_url}}">download it here</a>. The link works for a limited time, so please download the file soon.</p>\n<p>{{/access_package_url}}Nothing more will happen with this request, and you do not need to do anything.',
      REFERENCE_HTML,
    ),
  },
};

// ---- The renderer ------------------------------------------------------------------------------

/** A template that cannot be rendered: which part, what is wrong, and the variable when one is at fault. */
export class TemplateError extends Error {
  override name = 'TemplateError';
  constructor(
    readonly part: TemplatePart,
    readonly problem: string,
    readonly variable?: string,
  ) {
    super(`${part}: ${problem}`);
  }
}

type Node = { kind: 'text'; text: string } | { kind: 'variable'; name: string } | { kind: 'section'; name: string; inverted: boolean; children: Node[] };

const NAME = /^[a-z_][a-z0-9_]*$/;

/** Parses a template into text, variables and sections, checking every name against `allowed`. */
export function parseTemplate(template: string, part: TemplatePart, allowed: readonly string[]): Node[] {
  const root: Node[] = [];
  const open: { name: string; children: Node[] }[] = [];
  let children = root;
  let position = 0;
  while (position < template.length) {
    const start = template.indexOf('{{', position);
    if (start < 0) {
      children.push({ kind: 'text', text: template.slice(position) });
      break;
    }
    if (start > position) children.push({ kind: 'text', text: template.slice(position, start) });
    const end = template.indexOf('}}', start + 2);
    const nextOpen = template.indexOf('{{', start + 2);
    if (end < 0 || (nextOpen >= 0 && nextOpen < end)) {
      const fragment = /^[#^/]?\s*[A-Za-z0-9_]*/.exec(template.slice(start + 2))![0].trim();
      throw new TemplateError(part, `unclosed {{${fragment}: the placeholder has no closing }}`, fragment.replace(/^[#^/]\s*/, '') || undefined);
    }
    const inside = template.slice(start + 2, end).trim();
    position = end + 2;
    const sigil = /^[#^/]/.test(inside) ? inside[0]! : '';
    const name = inside.slice(sigil.length).trim();
    if (!NAME.test(name)) throw new TemplateError(part, `{{${inside}}} is not a placeholder: write {{name}}, {{#name}}…{{/name}} or {{^name}}…{{/name}} with a lower-case name`, name || undefined);
    if (!allowed.includes(name)) throw new TemplateError(part, `unknown variable {{${name}}}`, name);
    if (sigil === '#' || sigil === '^') {
      const section: Node = { kind: 'section', name, inverted: sigil === '^', children: [] };
      children.push(section);
      open.push({ name, children });
      children = section.children;
    } else if (sigil === '/') {
      const closing = open.pop();
      if (!closing) throw new TemplateError(part, `{{/${name}}} closes no section`, name);
      if (closing.name !== name) throw new TemplateError(part, `{{/${name}}} closes the section {{#${closing.name}}}: close it with {{/${closing.name}}}`, closing.name);
      children = closing.children;
    } else {
      children.push({ kind: 'variable', name });
    }
  }
  const unclosed = open.pop();
  if (unclosed) throw new TemplateError(part, `the section {{#${unclosed.name}}} is never closed with {{/${unclosed.name}}}`, unclosed.name);
  return root;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]!);

function renderNodes(nodes: Node[], variables: MessageVariables, part: TemplatePart): string {
  let out = '';
  for (const node of nodes) {
    if (node.kind === 'text') out += node.text;
    else if (node.kind === 'section') {
      const present = (variables[node.name] ?? '') !== '';
      if (present !== node.inverted) out += renderNodes(node.children, variables, part);
    } else {
      let value = variables[node.name] ?? '';
      if (part === 'html') value = escapeHtml(value);
      // A header is one line: a value never adds another.
      if (part === 'subject') value = value.replace(/[\r\n]+/g, ' ');
      out += value;
    }
  }
  return out;
}

/** Renders one part of a template; throws a TemplateError for an unknown variable or a broken placeholder. */
export function renderPart(template: string, part: TemplatePart, allowed: readonly string[], variables: MessageVariables): string {
  const rendered = renderNodes(parseTemplate(template, part, allowed), variables, part);
  if (part === 'subject') return rendered.replace(/[\r\n]+/g, ' ').replace(/\s{2,}/g, ' ').trim();
  if (part === 'text') {
    // A section left out must not leave holes: no trailing spaces, at most one blank line in a row.
    return rendered.replace(/[ \t]+$/gm, '').replace(/\n{3,}/g, '\n\n').trim() + '\n';
  }
  return rendered;
}

export interface RenderedMessage {
  subject: string;
  text: string;
  html: string;
}

/** Renders a template of a message type with its variables (missing ones are empty). */
export function renderMessage(type: MessageType, template: MessageTemplate, variables: MessageVariables): RenderedMessage {
  const allowed = MESSAGE_VARIABLES[type];
  return {
    subject: renderPart(template.subject, 'subject', allowed, variables),
    text: renderPart(template.text, 'text', allowed, variables),
    html: renderPart(template.html, 'html', allowed, variables),
  };
}

/**
 * What is wrong with a template for a message type, one error per part (empty when it is fine):
 * every part must parse, and render with sample values and with every optional value empty.
 */
export function checkTemplate(type: MessageType, template: MessageTemplate): TemplateError[] {
  const errors: TemplateError[] = [];
  const allowed = MESSAGE_VARIABLES[type];
  const samples = sampleVariables(type);
  const empty = Object.fromEntries(allowed.map((name) => [name, OPTIONAL_VARIABLES.includes(name) ? '' : samples[name]!]));
  for (const part of TEMPLATE_PARTS) {
    try {
      renderPart(template[part], part, allowed, samples);
      const rendered = renderPart(template[part], part, allowed, empty);
      if (part === 'subject' && rendered === '') throw new TemplateError(part, 'the subject is empty');
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error;
      errors.push(error);
    }
  }
  return errors;
}
