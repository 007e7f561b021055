/**
 * The console's only stylesheet and script, served from the API itself (nothing from a CDN: the
 * console works on an offline network). Colours keep a contrast of at least 4.5:1 (WCAG AA) on
 * their backgrounds; the layout works from 390 px wide.
 */
import { createHash } from 'node:crypto';

export const CONSOLE_CSS = `
:root { --ink: #1b1f24; --muted: #4a535e; --line: #d0d7de; --bg: #ffffff; --panel: #f6f8fa; --accent: #0a58ca; --accent-ink: #ffffff;
  --red: #a4141b; --red-bg: #ffe9e9; --amber: #7a4a00; --amber-bg: #fff4d6; --green: #155d27; --green-bg: #e3f6e8; --grey-bg: #eceff3; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible, summary:focus-visible { outline: 3px solid #ffbf47; outline-offset: 1px; }
.skip { position: absolute; left: -999px; top: 0; background: var(--ink); color: #fff; padding: 8px 12px; z-index: 10; }
.skip:focus { left: 8px; }
header.top { display: flex; flex-wrap: wrap; gap: 8px 20px; align-items: center; padding: 10px 20px; background: #14213d; color: #fff; }
header.top a { color: #fff; }
header.top .brand { font-weight: 700; font-size: 17px; text-decoration: none; margin-right: 8px; }
header.top nav ul { display: flex; flex-wrap: wrap; gap: 4px 16px; list-style: none; margin: 0; padding: 0; }
header.top nav a[aria-current="page"] { font-weight: 700; text-decoration-thickness: 3px; }
header.top .who { margin-left: auto; display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
header.top .who button { background: transparent; color: #fff; border: 1px solid #fff; }
main { padding: 16px 20px 40px; max-width: 1400px; margin: 0 auto; }
h1 { font-size: 22px; margin: 8px 0 14px; }
h2 { font-size: 18px; margin: 26px 0 10px; }
h3 { font-size: 16px; margin: 18px 0 8px; }
.muted { color: var(--muted); }
.flash { padding: 10px 14px; border-radius: 6px; margin: 0 0 14px; border: 1px solid; }
.flash.ok { background: var(--green-bg); color: var(--green); border-color: #9bd3a8; }
.flash.error { background: var(--red-bg); color: var(--red); border-color: #f1a7a9; }
form.filters { display: flex; flex-wrap: wrap; gap: 10px 14px; align-items: flex-end; background: var(--panel); padding: 12px; border: 1px solid var(--line); border-radius: 6px; }
label { display: block; font-weight: 600; font-size: 13px; margin-bottom: 3px; }
.field { display: flex; flex-direction: column; }
input, select, textarea { font: inherit; padding: 6px 8px; border: 1px solid #8c959f; border-radius: 4px; background: #fff; color: var(--ink); max-width: 100%; }
textarea { width: 100%; min-height: 70px; }
button, .button { font: inherit; font-weight: 600; padding: 7px 14px; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: var(--accent-ink); cursor: pointer; text-decoration: none; display: inline-block; }
button.secondary, .button.secondary { background: #fff; color: var(--accent); }
button.danger { background: var(--red); border-color: var(--red); }
.table-wrap { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; padding: 6px 10px; color: var(--muted); }
th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--panel); font-size: 13px; white-space: nowrap; }
tbody tr:last-child td { border-bottom: 0; }
td.id { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px; overflow-wrap: anywhere; }
form p.field { margin: 0 0 10px; }
textarea[name="yaml"] { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 13px; font-weight: 600; white-space: nowrap; background: var(--grey-bg); color: var(--ink); }
.badge.red { background: var(--red-bg); color: var(--red); }
.badge.amber { background: var(--amber-bg); color: var(--amber); }
.badge.green { background: var(--green-bg); color: var(--green); }
.pager { display: flex; gap: 12px; align-items: center; margin: 12px 0; flex-wrap: wrap; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(280px, 1fr)); gap: 14px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px; background: #fff; }
.card h2, .card h3 { margin-top: 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; margin: 0; }
dl.facts dt { font-weight: 600; color: var(--muted); }
dl.facts dd { margin: 0; word-break: break-word; }
.actions form { margin: 0 0 12px; }
.actions .row { display: flex; gap: 8px; flex-wrap: wrap; align-items: flex-end; }
ol.timeline { list-style: none; padding: 0; margin: 0; border-left: 3px solid var(--line); }
ol.timeline li { padding: 4px 0 8px 14px; }
pre.code { background: var(--panel); padding: 10px; border-radius: 4px; overflow-x: auto; white-space: pre-wrap; }
.login { max-width: 380px; margin: 60px auto; }
.login .field { margin-bottom: 12px; }
.login input { width: 100%; }
@media (max-width: 640px) {
  main { padding: 12px; }
  header.top { padding: 8px 12px; }
  header.top .who { margin-left: 0; }
  table.responsive thead { position: absolute; left: -9999px; }
  table.responsive tr { display: block; border-bottom: 1px solid var(--line); padding: 6px 0; }
  table.responsive td { display: grid; grid-template-columns: 110px 1fr; gap: 8px; border: 0; padding: 3px 10px; }
  table.responsive td::before { content: attr(data-label); font-weight: 600; color: var(--muted); font-size: 13px; }
}
`;

/** Progressive: every form works without it. It adds rows to a manual-input form. */
export const CONSOLE_JS = `
document.addEventListener('click', function (event) {
  var button = event.target.closest('[data-add-row]');
  if (!button) return;
  var form = button.closest('form');
  var rows = form.querySelectorAll('fieldset[data-row]');
  var last = rows[rows.length - 1];
  var copy = last.cloneNode(true);
  var index = rows.length;
  copy.querySelectorAll('input').forEach(function (input) {
    input.value = '';
    input.name = input.name.replace(/^row\\d+\\./, 'row' + index + '.');
    input.id = input.id.replace(/-\\d+$/, '-' + index);
  });
  copy.querySelectorAll('label').forEach(function (label) { label.htmlFor = label.htmlFor.replace(/-\\d+$/, '-' + index); });
  copy.querySelector('legend').textContent = 'Row ' + (index + 1);
  last.after(copy);
  copy.querySelector('input').focus();
});
`;

const version = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 10);
/** Versioned names: the files are cached for a year and a new release changes the name. */
export const ASSETS = {
  css: { path: `/console/assets/console-${version(CONSOLE_CSS)}.css`, body: CONSOLE_CSS, type: 'text/css; charset=utf-8' },
  js: { path: `/console/assets/console-${version(CONSOLE_JS)}.js`, body: CONSOLE_JS, type: 'text/javascript; charset=utf-8' },
};
