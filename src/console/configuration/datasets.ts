/**
 * /console/datasets: each connection's datasets (fides_key, name, and their collections) and, for
 * users with dataset:write, a form to upload fideslang YAML to a connection, pasted or as a file
 * (the file wins when both are given). The upload is the API's `PATCH /connection/{key}/dataset`
 * with the YAML as it was sent: the API validates each dataset on its own and saves the good ones.
 * The page then lists what was saved, and every problem of what was not with its location and
 * line, the lines around it, and the YAML back in the text area to be fixed. YAML that does not
 * parse (the API's 400, its message naming the line) is shown the same way.
 */
import { Hono } from 'hono';
import { html } from 'hono/html';
import { refusal, type ApiAnswer } from '../api-client.js';
import type { ConsoleContext, ConsoleEnv } from '../index.js';
import { can, page, postForm, type Flash, type Html, type Viewer, scrollable, cell } from '../layout.js';
import { KEY, listAll, type Listing, listingFailed, mapLimit, none, refuseWithout, truncatedNote } from './shared.js';

interface Connection {
  key: string;
  name: string | null;
}

interface Dataset {
  fides_key: string;
  name?: string | null;
  collections: { name: string }[];
}

/** The API's DatasetProblem (src/domain/datasets.ts). */
interface Problem {
  dataset?: string;
  collection?: string;
  field?: string;
  line?: number;
  message: string;
}

interface BulkAnswer {
  succeeded: Dataset[];
  failed: { message: string; data: { fides_key: string | null }; problems: Problem[] }[];
}

/** What the upload form shows again after an answer. */
interface Upload {
  connectionKey?: string;
  yaml?: string;
  saved?: string[];
  /** Per dataset not saved (dataset null: the body as a whole, which the API could not read): its problems. */
  rejected?: { dataset: string | null; problems: Problem[] }[];
}

const TITLE = 'Datasets';
const CURRENT = '/console/datasets';
/** DSRFLOW_MAX_BODY_SIZE's default; the console's own POST is held to the configured size before it gets here. */
const DEFAULT_MAX_BYTES = 1024 * 1024;

export function datasetPages(options: { maxBodyBytes?: number | undefined } = {}) {
  const maxBytes = options.maxBodyBytes ?? DEFAULT_MAX_BYTES;
  const app = new Hono<ConsoleEnv>();

  app.get('/datasets', (c) => refuseWithout(c, 'dataset:read', 'datasets') ?? render(c));

  app.post('/datasets', async (c) => {
    const form = await c.req.parseBody();
    const connectionKey = typeof form.connection_key === 'string' ? form.connection_key : '';
    const read = await yamlOf(form.file, form.yaml, maxBytes);
    const upload: Upload = { connectionKey, yaml: read.text };
    if (!KEY.test(connectionKey)) return render(c, { upload, flash: { kind: 'error', text: 'Choose the connection the datasets belong to.' }, status: 422 });
    if ('refused' in read) return render(c, { upload, flash: { kind: 'error', text: read.refused }, status: 422 });
    const answer = await c.var.api<BulkAnswer>('PATCH', `/connection/${encodeURIComponent(connectionKey)}/dataset`, { text: { body: read.text, type: 'application/yaml' } });
    return answered(c, upload, answer);
  });

  return app;
}

/**
 * The YAML to send: the file's bytes as UTF-8 when a file was chosen, else the text area's text.
 * A refusal keeps the text to show again (never the bytes of a file that is not text).
 */
async function yamlOf(file: unknown, pasted: unknown, maxBytes: number): Promise<{ text: string } | { text: string; refused: string }> {
  const typed = typeof pasted === 'string' ? pasted.replaceAll('\0', '') : '';
  const limit = `the API takes at most ${maxBytes.toLocaleString('en')} bytes (DSRFLOW_MAX_BODY_SIZE)`;
  if (file instanceof File && (file.size > 0 || file.name)) {
    const source = `The file ${file.name || 'chosen'}`;
    if (file.size > maxBytes) return { text: typed, refused: `${source} is ${file.size.toLocaleString('en')} bytes: ${limit}. Split it into several files.` };
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(await file.arrayBuffer());
    } catch {
      return { text: typed, refused: `${source} is not UTF-8 text: save it as UTF-8 and upload it again. Nothing was sent.` };
    }
    if (text.includes('\0')) return { text: typed, refused: `${source} contains a NUL character: it is not a YAML text file. Nothing was sent.` };
    if (!text.trim()) return { text: typed, refused: `${source} is empty.` };
    return { text };
  }
  if (typeof pasted === 'string' && pasted.includes('\0')) return { text: typed, refused: 'The pasted YAML contains a NUL character (removed below): check the text and upload it again. Nothing was sent.' };
  if (Buffer.byteLength(typed) > maxBytes) return { text: typed, refused: `The pasted YAML is too large: ${limit}.` };
  if (!typed.trim()) return { text: typed, refused: 'Paste fideslang YAML or choose a .yml file.' };
  return { text: typed };
}

/** The page after the API's answer: what was saved, and every problem with where it is. */
function answered(c: ConsoleContext, upload: Upload, answer: ApiAnswer<BulkAnswer>) {
  if (answer.ok) {
    const saved = answer.body.succeeded.map((dataset) => dataset.fides_key);
    const rejected = answer.body.failed.map((failure, index) => ({
      dataset: failure.data.fides_key ?? `#${index + 1}`,
      problems: failure.problems.length ? failure.problems : [{ message: failure.message }],
    }));
    const count = rejected.reduce((sum, item) => sum + item.problems.length, 0);
    const savedText = saved.length ? `Saved ${saved.join(', ')}.` : '';
    const flash: Flash = rejected.length
      ? { kind: 'error', text: `${savedText} Not saved: ${rejected.map((item) => item.dataset).join(', ')}, with ${count} ${count === 1 ? 'problem' : 'problems'} listed under the form.`.trim() }
      : { kind: 'ok', text: savedText };
    // Saved in full: the form is empty again. Otherwise the YAML stays, to be fixed.
    return render(c, { upload: rejected.length ? { ...upload, saved, rejected } : { connectionKey: upload.connectionKey, saved }, flash, status: rejected.length ? 422 : 200 });
  }
  if (answer.status === 400 || answer.status === 422) {
    const rejected = [{ dataset: null, problems: bodyProblems(answer) }];
    return render(c, { upload: { ...upload, rejected }, flash: { kind: 'error', text: 'Nothing was saved: the YAML cannot be read as datasets. The problem is listed under the form.' }, status: answer.status });
  }
  const status = answer.status === 403 ? 403 : answer.status === 404 ? 404 : answer.status === 413 ? 413 : 502;
  return render(c, { upload, flash: { kind: 'error', text: `Nothing was saved: ${refusal(answer)}` }, status });
}

/** A 400 (`body: <problem> (line 7)`) or a 422 (`detail` naming the place) as located problems. */
function bodyProblems(answer: ApiAnswer): Problem[] {
  const body = answer.body as { message?: string; detail?: { loc?: (string | number)[]; msg?: string }[] } | string;
  if (typeof body === 'object' && body.detail?.length && answer.status === 422) {
    return body.detail.map((item) => {
      const where = (item.loc ?? []).filter((part) => part !== 'body').join('.');
      return { message: `${where ? `${where}: ` : ''}${item.msg ?? 'invalid'}` };
    });
  }
  const text = (typeof body === 'string' ? body : body.message ?? refusal(answer)).replace(/^body: /, '');
  const line = /\(line (\d+)\)\s*$/.exec(text);
  return [{ message: line ? text.slice(0, line.index).trim() : text, ...(line ? { line: Number(line[1]) } : {}) }];
}

async function render(c: ConsoleContext, extra: { upload?: Upload; flash?: Flash; status?: 200 | 400 | 403 | 404 | 413 | 422 | 502 } = {}) {
  const viewer = c.var.viewer;
  const api = c.var.api;
  const connections = await listAll<Connection>(api, '/connection');
  if (!connections.ok) return listingFailed(c, { title: TITLE, current: CURRENT, answer: connections.answer });
  const datasets = await mapLimit(connections.items, 6, (connection) => listAll<Dataset>(api, `/connection/${encodeURIComponent(connection.key)}/dataset`));
  const body = html`<h1>${TITLE}</h1>
${can(viewer, 'dataset:write') ? uploadSection(viewer, connections.items, extra.upload ?? {}) : ''}
${connections.items.length ? '' : html`<p>No connection yet: datasets belong to a connection.</p>`}
${connections.items.map((connection, index) => connectionSection(connection, datasets[index]!))}
${truncatedNote(connections.items.length, connections.total, 'connections')}`;
  return c.html(page({ title: TITLE, viewer, current: CURRENT, flash: extra.flash, body }), extra.status ?? 200);
}

function connectionSection(connection: Connection, listing: Listing<Dataset>): Html {
  const heading = html`<h2 id="datasets-of-${connection.key}">${connection.name ? html`${connection.name} <span class="muted">(${connection.key})</span>` : connection.key}</h2>`;
  if (!listing.ok) return html`${heading}<p class="flash error">${refusal(listing.answer)}</p>`;
  if (!listing.items.length) return html`${heading}<p class="muted">No dataset.</p>`;
  return html`${heading}
${scrollable(
  `Datasets of ${connection.key}`,
  html`<table class="responsive">
<thead><tr><th scope="col">fides_key</th><th scope="col">Name</th><th scope="col">Collections</th><th scope="col">Collection names</th></tr></thead>
<tbody>
${listing.items.map(
  (dataset) => html`<tr>
  ${cell('fides_key', dataset.fides_key, 'id')}
  ${cell('Name', dataset.name || none)}
  ${cell('Collections', dataset.collections.length)}
  ${cell('Collection names', dataset.collections.length ? dataset.collections.map((collection) => collection.name).join(', ') : none)}
</tr>`,
)}
</tbody>
</table>`,
)}
${truncatedNote(listing.items.length, listing.total, 'datasets')}`;
}

function uploadSection(viewer: Viewer, connections: Connection[], upload: Upload): Html {
  if (!connections.length) return html``;
  const fields = html`<p class="field"><label for="dataset-connection">Connection</label>
  <select id="dataset-connection" name="connection_key" required>${connections.map(
    (connection) => html`<option value="${connection.key}"${connection.key === upload.connectionKey ? html` selected` : ''}>${connection.key}${connection.name ? ` (${connection.name})` : ''}</option>`,
  )}</select></p>
<p class="field"><label for="dataset-yaml">Fideslang YAML</label>
  <span class="muted" id="dataset-yaml-help">A <code>dataset:</code> list, as in a dataset file. Datasets replace those with the same fides_key.</span>
  <textarea id="dataset-yaml" name="yaml" rows="14" spellcheck="false" autocapitalize="off" aria-describedby="dataset-yaml-help">
${upload.yaml ?? ''}</textarea></p>
<p class="field"><label for="dataset-file">Or a YAML file (used instead of the text when chosen)</label>
  <input id="dataset-file" name="file" type="file" accept=".yml,.yaml,application/yaml,text/yaml"></p>
<p><button type="submit">Upload datasets</button></p>`;
  return html`<section aria-labelledby="upload-title">
<h2 id="upload-title">Upload datasets</h2>
${upload.saved?.length && upload.rejected?.length ? html`<p id="upload-saved">Saved: ${upload.saved.map((key, index) => html`${index ? ', ' : ''}<code>${key}</code>`)}</p>` : ''}
${upload.rejected?.length ? problemList(upload.rejected, upload.yaml ?? '') : ''}
${postForm(viewer, '/console/datasets', fields, html`enctype="multipart/form-data"`)}
</section>`;
}

function problemList(rejected: NonNullable<Upload['rejected']>, yaml: string): Html {
  const lines = yaml.split(/\r\n|\r|\n/);
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop(); // the newline that ends the text
  return html`<div class="flash error" id="upload-problems">
<p><strong>Not saved.</strong> Fix these in the YAML below and upload it again:</p>
<ul>${rejected.map(
    (item) => html`<li>${item.dataset === null ? 'The YAML' : html`Dataset <code>${item.dataset}</code>`}
  <ul>${item.problems.map((problem) => html`<li class="problem">${problemText(problem)}${problem.line ? excerpt(lines, problem.line) : ''}</li>`)}</ul></li>`,
  )}</ul>
</div>`;
}

function problemText(problem: Problem): Html {
  const where = [problem.collection !== undefined ? `collection ${problem.collection}` : '', problem.field !== undefined ? `field ${problem.field}` : ''].filter(Boolean).join(', ');
  return html`${problem.line ? html`<strong>Line ${problem.line}</strong>: ` : ''}${where ? `${where}: ` : ''}${problem.message}`;
}

/**
 * The problem's line with one line either side, numbered, the line itself marked; the indentation
 * the three lines share is left out so that they fit a narrow screen (what is left is relative).
 */
function excerpt(lines: string[], line: number): Html | string {
  if (line < 1 || line > lines.length) return '';
  const from = Math.max(1, line - 1);
  const to = Math.min(lines.length, line + 1);
  const width = String(to).length;
  const shown = lines.slice(from - 1, to);
  const shared = Math.min(...shown.filter((text) => text.trim()).map((text) => /^ */.exec(text)![0].length));
  const rows = [];
  for (let number = from; number <= to; number++) {
    const text = `${String(number).padStart(width)} | ${lines[number - 1]!.slice(Number.isFinite(shared) ? shared : 0)}`;
    rows.push(number === line ? html`<mark>${text}</mark>` : html`${text}`);
  }
  return html`<pre class="code">${rows.map((row, index) => html`${index ? '\n' : ''}${row}`)}</pre>`;
}
