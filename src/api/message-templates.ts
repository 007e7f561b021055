/**
 * `/api/v1/message-template`: the wording of the messages sent to the data subject. Each type
 * has a built-in template (src/messages/templates.ts); an operator may replace it, and delete the
 * replacement to go back to it. A template is rendered with sample values before it is stored: one
 * that does not render (an unknown variable, an unclosed `{{`) is refused with 422, naming the
 * field, and nothing is stored. Messages already sent are not changed.
 */
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { recordConfigurationChange } from '../db/configuration-changes.js';
import { deleteMessageTemplate, listMessageTemplates, upsertMessageTemplate, type MessageTemplateRow } from '../db/messages.js';
import { checkTemplate, DEFAULT_TEMPLATES, MESSAGE_TYPES, MESSAGE_VARIABLES, OPTIONAL_VARIABLES, type MessageType } from '../messages/templates.js';
import { principal, secured } from './auth.js';
import { deleteRecorded } from './resource-routes.js';
import { errorBody, validationError } from './errors.js';
import { ErrorSchema, errorResponses, json } from './schemas.js';
import { newRouter, type ApiDeps } from './types.js';

const TAG = 'Messages';

const MessageTypeParam = z.object({ message_type: z.enum(MESSAGE_TYPES).meta({ example: 'receipt' }) });

export const MessageTemplateSchema = z
  .object({
    message_type: z.enum(MESSAGE_TYPES),
    subject: z.string(),
    text: z.string().meta({ description: 'The plain text body' }),
    html: z.string().meta({ description: 'The HTML body; values are HTML-escaped where they are placed' }),
    overridden: z.boolean().meta({ description: 'False: the built-in template is in use' }),
    variables: z.array(z.string()).meta({
      description: 'What the template may use: `{{name}}`, and sections `{{#name}}…{{/name}}` (kept when the value is not empty) or `{{^name}}…{{/name}}` (kept when it is)',
      example: ['privacy_request_id', 'policy_name', 'received_at', 'due_at'],
    }),
    optional_variables: z.array(z.string()).meta({ description: 'Variables among them that may be empty: write them in sections', example: ['due_at'] }),
    updated_at: z.string().nullable().meta({ format: 'date-time' }),
    updated_by: z.string().nullable().meta({ description: 'The client or user who stored the replacement' }),
  })
  .meta({ id: 'MessageTemplate' });

const MessageTemplateListSchema = z.object({ items: z.array(MessageTemplateSchema) }).meta({ id: 'MessageTemplateList' });

const MessageTemplateUpdateSchema = z
  .strictObject({
    subject: z.string().min(1).max(500).meta({ example: 'We received your privacy request' }),
    text: z.string().min(1).max(100_000).meta({ example: 'We received your request {{privacy_request_id}} on {{received_at}}.' }),
    html: z.string().min(1).max(200_000).meta({ example: '<p>We received your request <code>{{privacy_request_id}}</code> on {{received_at}}.</p>' }),
  })
  .meta({ id: 'MessageTemplateUpdate' });

const listRoute = secured(
  'messaging:read',
  createRoute({
    method: 'get',
    path: '/message-template',
    tags: [TAG],
    summary: 'The template of every message type, with the variables it may use',
    responses: { 200: { description: 'One template per message type', content: json(MessageTemplateListSchema) }, 422: errorResponses[422] },
  }),
);

const putRoute = secured(
  'messaging:write',
  createRoute({
    method: 'put',
    path: '/message-template/{message_type}',
    tags: [TAG],
    summary: "Replace a message type's template",
    description: 'The template is rendered with sample values first: an unknown variable or an unclosed `{{` answers 422 naming the field (`html: unknown variable {{foo}}`), and nothing is stored.',
    request: { params: MessageTypeParam, body: { required: true, content: json(MessageTemplateUpdateSchema) } },
    responses: {
      200: { description: 'The stored template', content: json(MessageTemplateSchema) },
      ...errorResponses,
      415: { description: 'The body is not JSON', content: json(ErrorSchema) },
    },
  }),
);

const deleteRoute = secured(
  'messaging:write',
  createRoute({
    method: 'delete',
    path: '/message-template/{message_type}',
    tags: [TAG],
    summary: 'Go back to the built-in template of a message type',
    request: { params: MessageTypeParam },
    responses: {
      204: { description: 'Deleted: the built-in template applies again' },
      404: { description: 'The message type uses its built-in template already', content: json(ErrorSchema) },
      422: errorResponses[422],
    },
  }),
);

function answer(type: MessageType, stored: MessageTemplateRow | undefined): z.infer<typeof MessageTemplateSchema> {
  const template = stored ?? DEFAULT_TEMPLATES[type];
  return {
    message_type: type,
    subject: template.subject,
    text: template.text,
    html: template.html,
    overridden: stored !== undefined,
    variables: [...MESSAGE_VARIABLES[type]],
    optional_variables: MESSAGE_VARIABLES[type].filter((name) => OPTIONAL_VARIABLES.includes(name)),
    updated_at: stored?.updated_at.toISOString() ?? null,
    updated_by: stored?.updated_by ?? null,
  };
}

export function messageTemplateRoutes(deps: Pick<ApiDeps, 'sql' | 'logger'>) {
  return newRouter()
    .openapi(listRoute, async (c) => {
      const stored = new Map((await listMessageTemplates(deps.sql)).map((row) => [row.message_type, row]));
      return c.json({ items: MESSAGE_TYPES.map((type) => answer(type, stored.get(type))) }, 200);
    })
    .openapi(putRoute, async (c) => {
      const { message_type: type } = c.req.valid('param');
      const template = c.req.valid('json');
      const problems = checkTemplate(type, template);
      if (problems.length) return c.json(validationError(problems.map((problem) => ({ loc: ['body', problem.part], msg: problem.problem, type: 'template' }))), 422);
      const actor = principal(c).actor;
      const stored = await deps.sql.begin(async (tx) => {
        const row = await upsertMessageTemplate(tx, type, template, actor);
        await recordConfigurationChange(tx, { resource: 'message_template', key: type, change: 'updated', actor });
        return row;
      });
      deps.logger?.info('Message template saved', { message_type: type });
      return c.json(answer(type, stored), 200);
    })
    .openapi(deleteRoute, async (c) => {
      const { message_type: type } = c.req.valid('param');
      const deleted = await deleteRecorded(deps, { resource: 'message_template', key: type, actor: principal(c).actor }, (tx) => deleteMessageTemplate(tx, type));
      if (!deleted) return c.json(errorBody('not_found', `The ${type} message uses its built-in template already`), 404);
      deps.logger?.info('Message template reset to the built-in one', { message_type: type });
      return c.body(null, 204);
    });
}
