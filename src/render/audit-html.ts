/**
 * The audit as one self-contained HTML page (`audit --format html`): inline CSS and script, no network (a
 * Content-Security-Policy that allows nothing else), no external font. Without JavaScript it is a plain,
 * accessible document: a summary, the keys × permissions matrix (caption, grouped column headers with `scope`,
 * a row header per key) and the policy findings. With JavaScript, filters (project, risk, owner, permission,
 * rotation/expiry state, text) and sortable columns appear, and long tables are paged (see SCRIPT). The script reads the table itself, so no data is embedded twice and no
 * user text ever reaches a script context. Pure and deterministic.
 */
import type { AuditReport } from '../audit/model';
import { LIFECYCLE_TOKENS, lifecyclePhrases, lifecycleTokens, MATRIX_PERMISSIONS, PERMISSION_AREAS, RISK_TIERS } from '../audit/model';
import { PERMISSION_DESCRIPTIONS } from '../permissions';
import { isRisky } from './risk';

/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c]!);
}
const HTML_ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Key rows the script shows at a time (see SCRIPT). */
const PAGE = 50;
/** Finding rows it shows at a time (simpler rows: a bigger page). */
const FINDINGS_PAGE = 200;

// `.later`: below the fold, laid out only when scrolled near (10,000 findings must not cost each filter a layout).
// `.loading`: set by the first script in <head>; while the page loads, rows past the first page are not laid out
// at all. The script then takes them out of the table and drops the class ("show more" must show rows 51+).
// Without JavaScript no class is set and every row shows.
const CSS = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5rem;color:#1b1f24;background:#fff}
h1{font-size:1.4rem}table{border-collapse:collapse;margin:1rem 0}caption{text-align:left;font-weight:600;padding:.3rem 0}
th,td{border:1px solid #d0d7de;padding:.15rem .35rem;vertical-align:top}thead th{background:#f6f8fa;position:sticky;top:0}
th.p{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:400;font-size:12px;white-space:nowrap}
td.y{text-align:center;background:#ddf4ff}td.y.r{background:#ffebe9}tbody th{text-align:left;font-weight:400}
.critical{color:#a40e26;font-weight:600}.high{color:#bc4c00;font-weight:600}.write{color:#7d4e00}.read{color:#116329}
.muted{color:#57606a}dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:600}
form{display:flex;flex-wrap:wrap;gap:.75rem;align-items:end;margin:1rem 0}[hidden]{display:none}label{display:flex;flex-direction:column;font-size:12px}
#matrix{table-layout:fixed;width:max-content}#matrix col.w{width:17rem}#matrix col.m{width:7rem}#matrix col.p{width:1.8rem}
#matrix td,#matrix th{overflow-wrap:anywhere}#matrix th.a{font-size:11px;padding:.15rem .1rem;overflow-wrap:normal;overflow:hidden;text-overflow:ellipsis}
button.sort{all:unset;cursor:pointer}button.sort:focus{outline:2px solid #0969da}
.later{content-visibility:auto;contain-intrinsic-size:auto 40rem}
html.loading #matrix tbody tr:nth-child(n+${PAGE + 1}),html.loading #findings tbody tr:nth-child(n+${FINDINGS_PAGE + 1}){display:none}
`;

// Runs in the page. Plain ES2017, no dependencies. A table of 10,000 rows x 40 cells takes seconds to lay out
// whenever rows appear or vanish, so the script keeps every row in an array and puts only the first PAGE
// matching rows in the table ("show more" adds the next page): a filter then costs one pass over the array
// and the layout of at most a page of rows, whatever the account's size. (`content-visibility` cannot do this
// for us: containment does not apply to table rows or row groups.) Without JavaScript every row shows.
const SCRIPT = `
(function(){
var PAGE=${PAGE};
var table=document.getElementById('matrix');if(!table)return;
var body=table.tBodies[0];var rows=Array.prototype.slice.call(body.rows);
// Read once: dataset lookups in every filter pass would cost more than the comparisons.
var data=new Map(rows.map(function(r){var d=r.dataset;return[r,{project:d.project,risk:d.risk,owner:d.owner.toLowerCase(),perms:' '+d.perms+' ',lc:' '+d.lifecycle+' ',key:d.key.toLowerCase()}];}));
var form=document.getElementById('filters');form.hidden=false;
var f={project:form.elements.project,risk:form.elements.risk,owner:form.elements.owner,permission:form.elements.permission,lifecycle:form.elements.lifecycle,text:form.elements.text};
var count=document.getElementById('shown');var more=document.getElementById('more');var limit=PAGE;
function apply(){
  var t0=performance.now();
  var pr=f.project.value,rk=f.risk.value,ow=f.owner.value.trim().toLowerCase(),pm=f.permission.value,lc=f.lifecycle.value,tx=f.text.value.trim().toLowerCase();
  var matched=0;var frag=document.createDocumentFragment();
  for(var i=0;i<rows.length;i++){var r=rows[i],d=data.get(r);
    var ok=(!pr||d.project===pr)&&(!rk||d.risk===rk)&&(!ow||d.owner.indexOf(ow)>=0)&&(!pm||d.perms.indexOf(' '+pm+' ')>=0)&&(!lc||d.lc.indexOf(' '+lc+' ')>=0)&&(!tx||d.key.indexOf(tx)>=0);
    if(ok){matched++;if(matched<=limit)frag.appendChild(r);}}
  body.textContent='';body.appendChild(frag);
  var shown=Math.min(matched,limit);
  count.textContent=matched+' of '+rows.length+' keys match'+(shown<matched?' (first '+shown+' shown)':'');
  more.hidden=shown>=matched;
  window.auditLastFilterMs=performance.now()-t0;
}
function refilter(){limit=PAGE;apply();}
for(var k in f)f[k].addEventListener('input',refilter);
more.addEventListener('click',function(){limit+=PAGE;apply();});
var heads=table.tHead.rows[1].cells;var dir={};
Array.prototype.forEach.call(heads,function(th,col){
  var b=document.createElement('button');b.className='sort';b.type='button';
  while(th.firstChild)b.appendChild(th.firstChild);th.appendChild(b);th.setAttribute('aria-sort','none');
  b.addEventListener('click',function(){
    var asc=dir[col]=!dir[col];var num=th.dataset.sort==='number';
    var keyed=rows.map(function(r,i){var c=r.cells[col];var v=c.dataset.v!==undefined?c.dataset.v:c.textContent;return{r:r,v:num?Number(v):v,i:i};});
    keyed.sort(function(a,b){var x=a.v<b.v?-1:a.v>b.v?1:a.i-b.i;return asc?x:-x;});
    rows=keyed.map(function(k){return k.r;});
    Array.prototype.forEach.call(heads,function(h){h.setAttribute('aria-sort','none');});th.setAttribute('aria-sort',asc?'ascending':'descending');
    apply();
  });
});
apply();
// The findings table is paged too: 10,000 findings laid out at once take seconds, and a filter that shortens the
// matrix brings the table into view (content-visibility then lays it out).
var ft=document.getElementById('findings');
if(ft){
  var fb=ft.tBodies[0];var frows=Array.prototype.slice.call(fb.rows);var flimit=${FINDINGS_PAGE};
  var fmore=document.getElementById('more-findings');var fcount=document.getElementById('findings-shown');
  var fshow=function(){
    var frag=document.createDocumentFragment();
    for(var i=0;i<frows.length&&i<flimit;i++)frag.appendChild(frows[i]);
    fb.textContent='';fb.appendChild(frag);
    var n=Math.min(flimit,frows.length);
    fcount.textContent=n<frows.length?'first '+n+' of '+frows.length+' findings shown':frows.length+' findings';
    fmore.hidden=n>=frows.length;
  };
  fmore.addEventListener('click',function(){flimit+=${FINDINGS_PAGE};fshow();});
  fshow();
}
document.documentElement.className='';
})();
`;

/** Area names that do not fit over their two columns, hyphenated where they may break. */
const AREA_LABELS: Readonly<Record<string, string>> = { configuration: 'config&shy;uration', collections: 'collec&shy;tions', approval: 'appro&shy;val' };

function options(values: readonly string[], all: string): string {
  return [`<option value="">${escapeHtml(all)}</option>`, ...values.map((v) => `<option value="${escapeHtml(v)}">${escapeHtml(v)}</option>`)].join('');
}

/** The cell of a held permission, per matrix column; only risky grants are tinted, so the eye finds them in a wide row. */
const HELD_CELLS: readonly string[] = MATRIX_PERMISSIONS.map((perm) => `<td class="y${isRisky(perm) ? ' r' : ''}" title="${escapeHtml(perm)}">✓</td>`);

/** Renders the audit as one HTML document. */
export function renderAuditHtml(report: AuditReport): string {
  const s = report.summary;
  const e = escapeHtml;
  const keyRows: string[] = [];
  for (const p of report.projects) {
    for (const k of p.keys) {
      const perms = [...k.permissions, ...k.unknownPermissions];
      const held = new Set(k.permissions);
      const cells = MATRIX_PERMISSIONS.map((perm, i) => (held.has(perm) ? HELD_CELLS[i] : '<td></td>')).join('');
      keyRows.push(
        `<tr data-project="${e(p.token)}" data-risk="${k.risk}" data-owner="${e(k.owner ?? '')}" data-perms="${e(perms.join(' '))}" data-lifecycle="${lifecycleTokens(k).join(' ')}" data-key="${e(`${k.description} ${k.uuid}`)}">` +
          `<td>${e(p.token)}</td><th scope="row">${e(k.description)}<br><small class="muted">${e(k.uuid)}</small></th>` +
          `<td class="${k.risk}" data-v="${RISK_TIERS.indexOf(k.risk)}">${k.risk}</td><td>${k.active ? 'active' : 'inactive'}</td>` +
          `<td data-v="${k.ageDays}">${k.ageDays}</td><td>${k.owner !== undefined ? e(k.owner) : '<span class="muted">none</span>'}</td>` +
          `<td>${report.withManifest ? (k.managed ? 'managed' : '<strong>unmanaged</strong>') : '<span class="muted">no manifest</span>'}</td>` +
          `<td>${k.drift.length ? k.drift.map(e).join('<br>') : ''}</td><td>${lifecyclePhrases(k).map(e).join('<br>')}</td><td data-v="${k.findings}">${k.findings || ''}</td>${cells}</tr>`,
      );
    }
  }
  const groupRow = PERMISSION_AREAS.map((a) => `<th scope="colgroup" class="a" colspan="${a.permissions.length}" title="${a.area}">${AREA_LABELS[a.area] ?? a.area}</th>`).join('');
  const permHeads = MATRIX_PERMISSIONS.map((p) => `<th scope="col" class="p" title="${e(PERMISSION_DESCRIPTIONS[p])}">${p}</th>`).join('');
  // Fixed widths let the browser lay the table out from its columns instead of measuring every cell.
  const colgroups = PERMISSION_AREAS.map((a) => `<colgroup>${'<col class="p">'.repeat(a.permissions.length)}</colgroup>`).join('');
  const fixedCols = ['m', 'w', 'm', 'm', 'm', 'm', 'm', 'w', 'w', 'm'].map((c) => `<col class="${c}">`).join('');
  const findings = report.projects.flatMap((p) => p.findings);
  const findingRows = findings.map(
    (f) =>
      `<tr><td>${f.severity}</td><td>${e(f.project)}</td><th scope="row">${e(f.description)}</th><td>${e(f.ruleLabel)}</td>` +
      `<td>${f.source ? e(`${f.source.file}:${f.source.line}:${f.source.column}`) : ''}</td><td>${e(f.message)}</td></tr>`,
  );
  const summary: [string, number][] = [
    ['Projects', s.projects],
    ['Keys (active)', s.keys],
    ['Active keys holding ACCESS_MANAGE', s.accessManage],
    ...(report.withManifest ? ([['Active keys no manifest entry manages', s.unmanagedActive], ['Keys drifted from the manifest', s.drifted]] as [string, number][]) : []),
    [`Active keys older than ${report.olderThanDays} days`, s.old],
    ['Inactive keys', s.inactive],
    ...(report.withManifest
      ? ([
          ['Active keys due for rotation (overdue)', s.rotationOverdue],
          ['Active keys past their expires', s.expired],
          ['Active keys being rotated out (retiring)', s.retiring],
          [`Rotations and expiries due within ${report.warnWithinDays} days`, s.dueSoon],
        ] as [string, number][])
      : []),
    ['Policy errors', s.errors],
    ['Policy warnings', s.warnings],
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Scaleflex key audit</title>
<style>${CSS}</style>
<script>document.documentElement.className='loading'</script>
</head>
<body>
<main>
<h1>Scaleflex key audit</h1>
<p class="muted">Generated ${e(report.generatedAt)} by scaleflex-keys audit.</p>
<section aria-labelledby="summary-h"><h2 id="summary-h">Summary</h2>
<dl>${summary.map(([k, v]) => `<dt>${e(k)}</dt><dd>${k === 'Keys (active)' ? `${s.keys} (${s.activeKeys})` : v}</dd>`).join('')}</dl>
</section>
<section aria-labelledby="keys-h"><h2 id="keys-h">Keys and permissions</h2>
<form id="filters" hidden onsubmit="return false">
<label>Project<select name="project">${options(report.projects.map((p) => p.token), 'all projects')}</select></label>
<label>Risk<select name="risk">${options(RISK_TIERS, 'any risk')}</select></label>
<label>Owner<input name="owner" type="search" placeholder="owner contains"></label>
<label>Permission<select name="permission">${options(MATRIX_PERMISSIONS, 'any permission')}</select></label>
<label>Rotation / expiry<select name="lifecycle">${options(LIFECYCLE_TOKENS, 'any state')}</select></label>
<label>Key<input name="text" type="search" placeholder="description or uuid"></label>
<output id="shown" aria-live="polite"></output>
</form>
<table id="matrix">
<caption>Every live key with its risk tier, state, age, owner, management, drift from the manifest, rotation and expiry, policy findings, and the permissions it holds (✓), grouped by area</caption>
<colgroup>${fixedCols}</colgroup>${colgroups}
<thead>
<tr><td colspan="10"></td>${groupRow}</tr>
<tr><th scope="col">Project</th><th scope="col">Key</th><th scope="col" data-sort="number">Risk</th><th scope="col">Active</th><th scope="col" data-sort="number">Age (days)</th><th scope="col">Owner</th><th scope="col">Managed</th><th scope="col">Drift</th><th scope="col">Rotation / expiry</th><th scope="col" data-sort="number">Findings</th>${permHeads}</tr>
</thead>
<tbody>
${keyRows.join('\n')}
</tbody>
</table>
<p><button id="more" type="button" hidden>Show more keys</button></p>
</section>
<section class="later" aria-labelledby="findings-h"><h2 id="findings-h">Policy findings</h2>
${findingRows.length
    ? `<table id="findings"><caption>Policy findings, each at the manifest line of its key</caption><thead><tr><th scope="col">Severity</th><th scope="col">Project</th><th scope="col">Key</th><th scope="col">Rule</th><th scope="col">Where</th><th scope="col">Message</th></tr></thead><tbody>\n${findingRows.join('\n')}\n</tbody></table>\n<p><output id="findings-shown" aria-live="polite"></output> <button id="more-findings" type="button" hidden>Show more findings</button></p>`
    : '<p>No policy findings.</p>'}
</section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

