/**
 * A stand-in for Stripe's API, for the endpoints Fides' stripe config uses:
 *
 * - Bearer auth with the secret key; anything else answers 401 as Stripe does.
 * - Lists (`object: list`, `data`, `has_more`, `url`) with cursor pagination: `limit` (1 to 100,
 *   default 10) and `starting_after` (an object id), filtered by `customer`, `email`, `charge`,
 *   `payment_intent`, `type`, `object` as each endpoint documents.
 * - Updates are `POST` with a form-encoded body (`address[city]=…`); an unknown parameter is a 400.
 *   Deletes: tax ids, invoice items and subscriptions; invoices only while `draft` (else 400).
 */
import { formDecode, startVendor, type RecordedRequest, type VendorReply, type VendorServer } from './server.js';

export type StripeObject = Record<string, unknown> & { id: string; object: string };

export interface StripeData {
  /** Objects by type (customer, charge, dispute, payment_intent, payment_method, bank_account, card, credit_note, customer_balance_transaction, tax_id, invoice, invoiceitem, subscription). */
  objects: Map<string, StripeObject[]>;
  deleted: string[];
}

const list = (objects: StripeObject[], request: RecordedRequest, url: string): VendorReply => {
  const limit = Number(request.query.get('limit') ?? 10);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) return invalid(`Invalid integer: ${request.query.get('limit')}`, 'limit');
  const after = request.query.get('starting_after');
  let start = 0;
  if (after) {
    const index = objects.findIndex((object) => object.id === after);
    if (index < 0) return { status: 400, body: { error: { type: 'invalid_request_error', code: 'resource_missing', message: `No such object: '${after}'`, param: 'starting_after' } } };
    start = index + 1;
  }
  const page = objects.slice(start, start + limit);
  return { status: 200, body: { object: 'list', data: page, has_more: start + limit < objects.length, url } };
};

const invalid = (message: string, param?: string): VendorReply => ({ status: 400, body: { error: { type: 'invalid_request_error', message, ...(param ? { param } : {}) } } });
const missing = (id: string): VendorReply => ({ status: 404, body: { error: { type: 'invalid_request_error', code: 'resource_missing', message: `No such object: '${id}'` } } });

/** One customer with an object of every kind the config reads, plus another customer's. */
export function stripeData(email = 'jane@example.com', charges = 3): StripeData {
  const objects = new Map<string, StripeObject[]>();
  const add = (type: string, object: StripeObject) => {
    const list = objects.get(type) ?? [];
    list.push(object);
    objects.set(type, list);
  };
  for (const [customer, address] of [['cus_jane', email], ['cus_other', 'other@example.com']] as const) {
    add('customer', {
      id: customer, object: 'customer', address: { city: 'Springfield', country: 'US', line1: '1 Main St', line2: null, postal_code: '62701', state: 'IL' },
      balance: 0, created: 1609459200, currency: 'usd', default_source: null, delinquent: false, description: 'A customer', email: address,
      invoice_prefix: 'ABC', invoice_settings: { custom_fields: null, default_payment_method: null }, livemode: false, name: 'Jane Doe',
      next_invoice_sequence: 1, phone: '+15550100', preferred_locales: ['en'], shipping: null, tax_exempt: 'none',
    });
    const n = customer === 'cus_jane' ? charges : 1;
    for (let i = 0; i < n; i += 1) {
      add('charge', { id: `ch_${customer}_${String(i).padStart(6, '0')}`, object: 'charge', amount: 1000 + i, customer, payment_intent: `pi_${customer}`, receipt_email: address, billing_details: { email: address, name: 'Jane Doe', phone: null, address: { city: 'Springfield' } }, status: 'succeeded' });
    }
    add('payment_intent', { id: `pi_${customer}`, object: 'payment_intent', amount: 1000, customer, receipt_email: address, status: 'succeeded' });
    add('dispute', { id: `dp_${customer}`, object: 'dispute', amount: 1000, charge: `ch_${customer}_000000`, payment_intent: `pi_${customer}`, evidence: { customer_email_address: address, customer_name: 'Jane Doe' }, status: 'won' });
    add('payment_method', { id: `pm_${customer}`, object: 'payment_method', type: 'card', customer, billing_details: { email: address, name: 'Jane Doe', phone: null, address: { city: 'Springfield', country: 'US' } }, card: { brand: 'visa', last4: '4242' }, created: 1609459200, livemode: false });
    add('bank_account', { id: `ba_${customer}`, object: 'bank_account', customer, account_holder_name: 'Jane Doe', account_holder_type: 'individual', bank_name: 'STRIPE TEST BANK', country: 'US', currency: 'usd', last4: '6789', routing_number: '110000000', status: 'new', fingerprint: 'f' });
    add('card', { id: `card_${customer}`, object: 'card', customer, name: 'Jane Doe', address_city: 'Springfield', address_line1: '1 Main St', brand: 'Visa', country: 'US', last4: '4242', exp_month: 12, exp_year: 2030 });
    add('credit_note', { id: `cn_${customer}`, object: 'credit_note', amount: 100, customer, status: 'issued' });
    add('customer_balance_transaction', { id: `cbtxn_${customer}`, object: 'customer_balance_transaction', amount: -100, customer, ending_balance: 0 });
    add('tax_id', { id: `txi_${customer}`, object: 'tax_id', country: 'US', customer, type: 'us_ein', value: '12-3456789', verification: { status: 'verified', verified_address: '1 Main St', verified_name: 'Jane Doe' } });
    add('invoice', { id: `in_${customer}_draft`, object: 'invoice', customer, customer_email: address, customer_name: 'Jane Doe', status: 'draft', total: 1000 });
    add('invoice', { id: `in_${customer}_paid`, object: 'invoice', customer, customer_email: address, customer_name: 'Jane Doe', status: 'paid', total: 1000 });
    add('invoiceitem', { id: `ii_${customer}`, object: 'invoiceitem', amount: 1000, customer, description: 'Item' });
    add('subscription', { id: `sub_${customer}`, object: 'subscription', customer, status: 'active' });
  }
  return { objects, deleted: [] };
}

export interface StripeServer extends VendorServer {
  data: StripeData;
  apiKey: string;
  of(type: string, id: string): StripeObject | undefined;
}

/** Applies form parameters to an object; an unknown parameter is refused, as Stripe does. */
function update(object: StripeObject, body: string): VendorReply {
  const values = formDecode(body);
  for (const key of Object.keys(values)) if (!(key in object) || key === 'id' || key === 'object') return invalid(`Received unknown parameter: ${key}`, key);
  const merge = (target: Record<string, unknown>, source: Record<string, unknown>) => {
    for (const [key, value] of Object.entries(source)) {
      if (value && typeof value === 'object' && !Array.isArray(value) && target[key] && typeof target[key] === 'object') merge(target[key] as Record<string, unknown>, value as Record<string, unknown>);
      else target[key] = value === '' ? null : value;
    }
  };
  merge(object, values);
  return { status: 200, body: object };
}

export async function startStripe(options: { data?: StripeData; apiKey?: string } = {}): Promise<StripeServer> {
  const data = options.data ?? stripeData();
  const apiKey = options.apiKey ?? 'sk_test_0123456789abcdef';
  const all = (type: string) => data.objects.get(type) ?? [];
  const of = (type: string, id: string) => all(type).find((object) => object.id === id);
  const remove = (type: string, id: string) => {
    data.objects.set(type, all(type).filter((object) => object.id !== id));
    data.deleted.push(id);
  };
  const server = await startVendor((request) => {
    if (request.headers.authorization !== `Bearer ${apiKey}`) {
      return { status: 401, body: { error: { type: 'invalid_request_error', message: `Invalid API Key provided: ${String(request.headers.authorization ?? '').slice(7, 15)}****` } } };
    }
    const q = (name: string) => request.query.get(name);
    const path = request.path;
    const by = (type: string, filters: Record<string, string | null>) => all(type).filter((object) => Object.entries(filters).every(([key, value]) => value === null || object[key] === value));
    if (request.method === 'GET') {
      if (path === '/v1/customers') return list(by('customer', { email: q('email') }), request, path);
      if (path === '/v1/charges') return list(by('charge', { customer: q('customer') }), request, path);
      if (path === '/v1/disputes') return list(by('dispute', { charge: q('charge'), payment_intent: q('payment_intent') }), request, path);
      if (path === '/v1/payment_intents') return list(by('payment_intent', { customer: q('customer') }), request, path);
      if (path === '/v1/credit_notes') return list(by('credit_note', { customer: q('customer') }), request, path);
      if (path === '/v1/invoices') return list(by('invoice', { customer: q('customer') }), request, path);
      if (path === '/v1/invoiceitems') return list(by('invoiceitem', { customer: q('customer') }), request, path);
      if (path === '/v1/subscriptions') return list(by('subscription', { customer: q('customer') }), request, path);
      const nested = /^\/v1\/customers\/([^/]+)\/(payment_methods|sources|balance_transactions|tax_ids)$/.exec(path);
      if (nested) {
        const customer = decodeURIComponent(nested[1]!);
        if (!of('customer', customer)) return missing(customer);
        if (nested[2] === 'payment_methods') {
          if (!q('type')) return invalid('Missing required param: type.', 'type');
          return list(by('payment_method', { customer, type: q('type') }), request, path);
        }
        if (nested[2] === 'sources') return list(by(q('object') ?? 'card', { customer }), request, path);
        if (nested[2] === 'balance_transactions') return list(by('customer_balance_transaction', { customer }), request, path);
        return list(by('tax_id', { customer }), request, path);
      }
      return { status: 404, body: { error: { type: 'invalid_request_error', message: `Unrecognized request URL (GET: ${path}).` } } };
    }
    let match: RegExpExecArray | null;
    if (request.method === 'POST' && (match = /^\/v1\/customers\/([^/]+)$/.exec(path))) {
      const object = of('customer', decodeURIComponent(match[1]!));
      return object ? update(object, request.body) : missing(match[1]!);
    }
    if (request.method === 'POST' && (match = /^\/v1\/payment_methods\/([^/]+)$/.exec(path))) {
      const object = of('payment_method', decodeURIComponent(match[1]!));
      return object ? update(object, request.body) : missing(match[1]!);
    }
    if (request.method === 'POST' && (match = /^\/v1\/customers\/([^/]+)\/sources\/([^/]+)$/.exec(path))) {
      const id = decodeURIComponent(match[2]!);
      const object = of('bank_account', id) ?? of('card', id);
      return object && object.customer === decodeURIComponent(match[1]!) ? update(object, request.body) : missing(id);
    }
    if (request.method === 'DELETE') {
      if ((match = /^\/v1\/customers\/([^/]+)\/tax_ids\/([^/]+)$/.exec(path))) {
        const id = decodeURIComponent(match[2]!);
        if (!of('tax_id', id)) return missing(id);
        remove('tax_id', id);
        return { status: 200, body: { id, object: 'tax_id', deleted: true } };
      }
      if ((match = /^\/v1\/invoices\/([^/]+)$/.exec(path))) {
        const id = decodeURIComponent(match[1]!);
        const invoice = of('invoice', id);
        if (!invoice) return missing(id);
        if (invoice.status !== 'draft') return invalid('You can only delete draft invoices.');
        remove('invoice', id);
        return { status: 200, body: { id, object: 'invoice', deleted: true } };
      }
      for (const [pattern, type] of [[/^\/v1\/invoiceitems\/([^/]+)$/, 'invoiceitem'], [/^\/v1\/subscriptions\/([^/]+)$/, 'subscription']] as const) {
        if ((match = pattern.exec(path))) {
          const id = decodeURIComponent(match[1]!);
          const object = of(type, id);
          if (!object) return missing(id);
          remove(type, id);
          return { status: 200, body: type === 'subscription' ? { ...object, status: 'canceled' } : { id, object: type, deleted: true } };
        }
      }
    }
    return { status: 404, body: { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${request.method}: ${path}).` } } };
  });
  return Object.assign(server, { data, apiKey, of });
}
