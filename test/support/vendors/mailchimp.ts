/**
 * A stand-in for Mailchimp's Marketing API 3.0 and its Transactional (Mandrill) allowlist, for the
 * endpoints Fides' mailchimp config (and saas_example, written after it) uses:
 *
 * - HTTP Basic auth: any username, the API key as password; a wrong one answers 401 as Mailchimp does.
 * - `GET /3.0/lists` (the connection test), `GET /3.0/search-members?query=` (exact_matches.members),
 *   `GET /3.0/conversations?count=&offset=` (offset pagination: `count` at most 1000),
 *   `GET /3.0/conversations/{id}/messages` (conversation_messages), and
 *   `PUT /3.0/lists/{list_id}/members/{subscriber_hash}` (the member's new values, as JSON).
 * - Transactional: `POST /api/1.0/allowlists/add` and `/allowlists/delete` with `{key, email}`.
 */
import { createHash } from 'node:crypto';
import { basicAuth, startVendor, type VendorServer } from './server.js';

export interface MailchimpMember {
  id: string;
  list_id: string;
  email_address: string;
  unique_email_id: string;
  web_id: number;
  email_type: string;
  status: string;
  merge_fields: Record<string, unknown>;
  ip_signup: string;
  timestamp_signup: string;
  language: string;
  location: Record<string, unknown>;
  tags: { id: number; name: string }[];
}

export interface MailchimpData {
  members: MailchimpMember[];
  conversations: { id: string; campaign_id: string; list_id: string; from_email: string; from_label: string; subject: string }[];
  messages: { id: string; conversation_id: string; from_label: string; from_email: string; subject: string; message: string; read: boolean; timestamp: string }[];
  /** Transactional allowlist: emails. */
  allowlist: Set<string>;
}

export const subscriberHash = (email: string) => createHash('md5').update(email.toLowerCase()).digest('hex');

/** The people the tests look for: jane (two conversations, messages of hers and others), and others. */
export function mailchimpData(email = 'jane@example.com', conversations = 3): MailchimpData {
  const member = (address: string, first: string): MailchimpMember => ({
    id: subscriberHash(address),
    list_id: 'list_1',
    email_address: address,
    unique_email_id: `u_${first}`,
    web_id: 100 + first.length,
    email_type: 'html',
    status: 'subscribed',
    merge_fields: { FNAME: first, LNAME: 'Doe', ADDRESS: { addr1: '1 Main St', addr2: '', city: 'Springfield', state: 'IL', zip: '62701', country: 'US' }, PHONE: '555-0100', BIRTHDAY: '01/02' },
    ip_signup: '203.0.113.7',
    timestamp_signup: '2021-01-01T00:00:00+00:00',
    language: 'en',
    location: { latitude: 0, longitude: 0, gmtoff: 0, dstoff: 0, country_code: 'US', timezone: '' },
    tags: [{ id: 1, name: 'customer' }],
  });
  const data: MailchimpData = { members: [member(email, 'Jane'), member('someone@example.com', 'Some')], conversations: [], messages: [], allowlist: new Set() };
  for (let i = 0; i < conversations; i += 1) {
    data.conversations.push({ id: `conv_${i}`, campaign_id: `camp_${i}`, list_id: 'list_1', from_email: i % 2 ? 'someone@example.com' : email, from_label: 'Label', subject: `Subject ${i}` });
    data.messages.push({ id: `msg_${i}_a`, conversation_id: `conv_${i}`, from_label: 'Jane', from_email: email, subject: 'Re', message: `Hello ${i}`, read: true, timestamp: '2021-01-01T00:00:00+00:00' });
    data.messages.push({ id: `msg_${i}_b`, conversation_id: `conv_${i}`, from_label: 'Other', from_email: 'someone@example.com', subject: 'Re', message: `Other ${i}`, read: false, timestamp: '2021-01-01T00:00:00+00:00' });
  }
  return data;
}

export interface MailchimpServer extends VendorServer {
  data: MailchimpData;
  apiKey: string;
  transactionalKey: string;
}

const problem = (status: number, title: string, detail: string) => ({ status, body: { type: 'https://mailchimp.com/developer/marketing/docs/errors/', title, status, detail, instance: 'x' } });

export async function startMailchimp(options: { data?: MailchimpData; apiKey?: string; transactionalKey?: string } = {}): Promise<MailchimpServer> {
  const data = options.data ?? mailchimpData();
  const apiKey = options.apiKey ?? 'mc-key-0123456789-us1';
  const transactionalKey = options.transactionalKey ?? 'md-key-0123456789';
  const server = await startVendor((request) => {
    if (request.path.startsWith('/api/1.0/')) {
      const body = JSON.parse(request.body || '{}') as { key?: string; email?: string };
      if (body.key !== transactionalKey) return { status: 500, body: { status: 'error', code: -1, name: 'Invalid_Key', message: 'Invalid API key' } };
      if (request.path === '/api/1.0/allowlists/add') {
        data.allowlist.add(body.email!);
        return { status: 200, body: { email: body.email, whether_added: true } };
      }
      if (request.path === '/api/1.0/allowlists/delete') {
        const deleted = data.allowlist.delete(body.email!);
        return { status: 200, body: { email: body.email, deleted } };
      }
      return { status: 404, body: { status: 'error', name: 'Unknown_Method' } };
    }
    if (basicAuth(request)?.password !== apiKey) return problem(401, 'API Key Invalid', 'Your API key may be invalid, or you\u2019ve attempted to access the wrong datacenter.');
    const path = request.path;
    if (request.method === 'GET' && path === '/3.0/lists') return { status: 200, body: { lists: [{ id: 'list_1', name: 'Newsletter' }], total_items: 1 } };
    if (request.method === 'GET' && path === '/3.0/search-members') {
      const query = (request.query.get('query') ?? '').toLowerCase();
      const members = data.members.filter((member) => member.email_address.toLowerCase() === query);
      return { status: 200, body: { exact_matches: { members, total_items: members.length }, full_search: { members: [], total_items: 0 } } };
    }
    if (request.method === 'GET' && path === '/3.0/conversations') {
      const count = Math.min(Number(request.query.get('count') ?? 10), 1000);
      const offset = Number(request.query.get('offset') ?? 0);
      return { status: 200, body: { conversations: data.conversations.slice(offset, offset + count), total_items: data.conversations.length } };
    }
    let match = /^\/3\.0\/conversations\/([^/]+)\/messages$/.exec(path);
    if (request.method === 'GET' && match) {
      const id = decodeURIComponent(match[1]!);
      if (!data.conversations.some((conversation) => conversation.id === id)) return problem(404, 'Resource Not Found', 'The requested resource could not be found.');
      const messages = data.messages.filter((message) => message.conversation_id === id);
      return { status: 200, body: { conversation_messages: messages, total_items: messages.length } };
    }
    match = /^\/3\.0\/lists\/([^/]+)\/members\/([^/]+)$/.exec(path);
    if (request.method === 'PUT' && match) {
      const member = data.members.find((candidate) => candidate.list_id === decodeURIComponent(match![1]!) && candidate.id === decodeURIComponent(match![2]!));
      if (!member) return problem(404, 'Resource Not Found', 'The requested resource could not be found.');
      let update: Record<string, unknown>;
      try {
        update = JSON.parse(request.body) as Record<string, unknown>;
      } catch {
        return problem(400, 'JSON Parse Error', "We encountered an unspecified JSON parsing error.");
      }
      for (const [key, value] of Object.entries(update)) {
        if (key === 'merge_fields' && value && typeof value === 'object') member.merge_fields = { ...member.merge_fields, ...(value as Record<string, unknown>) };
        else (member as unknown as Record<string, unknown>)[key] = value;
      }
      return { status: 200, body: member };
    }
    return problem(404, 'Resource Not Found', `No ${request.method} ${path}`);
  });
  return Object.assign(server, { data, apiKey, transactionalKey });
}
