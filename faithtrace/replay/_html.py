"""One self-contained HTML page that steps through an episode (no network needed to view it)."""

from __future__ import annotations

import html
import json
from pathlib import Path

from faithtrace.replay._model import RecordedEpisode

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>faithtrace · __TITLE__</title>
<style>
 body{font:14px/1.45 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2430}
 header{background:#1d2430;color:#fff;padding:12px 20px}
 header code{color:#9cdcfe} main{display:flex;gap:16px;padding:16px 20px}
 #steps{flex:1 1 55%;list-style:none;margin:0;padding:0}
 #steps li{background:#fff;border:1px solid #d9dee5;border-left:5px solid #8a94a6;border-radius:6px;
   margin:0 0 8px;padding:8px 10px;cursor:pointer;white-space:pre-wrap}
 #steps li.current{outline:3px solid #3b82f6}
 #steps li.future{opacity:.35}
 .kind{font-weight:600;text-transform:uppercase;font-size:11px;margin-right:6px}
 li.thought{border-left-color:#8a94a6} li.action{border-left-color:#d97706}
 li.observation{border-left-color:#a21caf} li.retrieval{border-left-color:#2563eb}
 li.answer{border-left-color:#16a34a} li.error{background:#fff1f1;border-color:#dc2626}
 aside{flex:1 1 45%} .card{background:#fff;border:1px solid #d9dee5;border-radius:6px;
   padding:10px 12px;margin-bottom:10px} .card h3{margin:0 0 6px;font-size:13px}
 pre{white-space:pre-wrap;margin:0;font-size:12px} nav{margin:0 0 12px}
 button{font:inherit;padding:4px 12px;margin-right:6px} .answer-value{font-size:16px;font-weight:600}
 .bad{color:#dc2626}
</style></head><body>
<header><div><b>__AGENT__</b> episode <code>__TRACE__</code> · __MODEL__</div>
<div>__QUESTION__</div></header>
<main><section style="flex:1 1 55%">
<nav><button id="prev">◀ prev</button><button id="next">next ▶</button>
<span id="pos"></span></nav><ol id="steps"></ol></section>
<aside><div class="card"><h3>Step</h3><pre id="detail"></pre></div>
<div class="card"><h3>Answer</h3><div id="answer" class="answer-value"></div></div>
<div class="card"><h3>Model calls</h3><pre id="calls"></pre></div>
<div class="card"><h3>Retrieved documents</h3><pre id="docs"></pre></div></aside></main>
<script id="episode" type="application/json">__DATA__</script>
<script>
window.addEventListener('error', e => {
  const box = document.createElement('div'); box.id = 'page-error';
  box.textContent = 'error: ' + e.message; document.body.prepend(box); });
</script>
<script>
const ep = JSON.parse(document.getElementById('episode').textContent);
const list = document.getElementById('steps');
const toolByStep = {}; for (const t of ep.tool_calls) toolByStep[t.step_index] = t;
let current = 0;
ep.steps.forEach((s, i) => {
  const li = document.createElement('li');
  const tool = toolByStep[s.index];
  li.className = s.kind + (tool && tool.status === 'ERROR' ? ' error' : '');
  const kind = document.createElement('span'); kind.className = 'kind'; kind.textContent = s.kind;
  li.appendChild(kind); li.appendChild(document.createTextNode(s.text || ''));
  li.onclick = () => show(i); list.appendChild(li);
});
function show(i) {
  if (!ep.steps.length) return;
  current = Math.max(0, Math.min(ep.steps.length - 1, i));
  [...list.children].forEach((li, j) => {
    li.classList.toggle('current', j === current); li.classList.toggle('future', j > current); });
  const s = ep.steps[current], tool = toolByStep[s.index];
  let text = `#${s.index} ${s.kind}\\n\\n${s.text || ''}`;
  if (s.char_start !== null) text += `\\n\\nchars ${s.char_start}-${s.char_end}, tokens ${s.token_start}-${s.token_end}`;
  if (tool) text += `\\n\\ntool ${tool.name}(${tool.arguments})\\n-> ${tool.result}\\n${tool.status} ${tool.error_type || ''} ${tool.duration_ms.toFixed(0)} ms`;
  document.getElementById('detail').textContent = text;
  document.getElementById('pos').textContent = `step ${current + 1} of ${ep.steps.length}`;
}
document.getElementById('prev').onclick = () => show(current - 1);
document.getElementById('next').onclick = () => show(current + 1);
document.addEventListener('keydown', e => { if (e.key === 'ArrowRight') show(current + 1);
  if (e.key === 'ArrowLeft') show(current - 1); });
const answer = document.getElementById('answer');
answer.textContent = ep.answer !== null ? ep.answer : `no answer (${ep.no_answer_reason})`;
if (ep.answer === null) answer.classList.add('bad');
document.getElementById('calls').textContent = ep.model_calls.map((c, i) =>
  `#${i} ${c.model}: ${c.input_tokens} in / ${c.output_tokens} out, ${(c.duration_ms/1000).toFixed(2)} s, ${c.finish_reason}`).join('\\n') || '—';
document.getElementById('docs').textContent = ep.retrievals.flatMap(r => r.documents.map((d, k) =>
  `[${k + 1}] ${d.title || d.id} (${Number(d.score).toFixed(3)})${ep.citations.includes(k + 1) ? '  ← cited' : ''}`)).join('\\n') || '—';
show(ep.steps.length - 1);
</script></body></html>
"""


def episode_html(episode: RecordedEpisode) -> str:
    """The page as a string; the episode is embedded as JSON and drawn by inline script."""
    # "</" inside the embedded JSON would close the script element early.
    data = json.dumps(episode.to_dict(), ensure_ascii=False, default=str).replace("</", "<\\/")
    replacements = {
        "__TITLE__": html.escape(episode.trace_id[:12]),
        "__AGENT__": html.escape(episode.agent),
        "__TRACE__": html.escape(episode.trace_id),
        "__MODEL__": html.escape(str(episode.settings.get("model", "?"))),
        "__QUESTION__": html.escape(episode.question or ""),
    }
    page = _PAGE
    for key, value in replacements.items():
        page = page.replace(key, value)
    return page.replace("__DATA__", data)


def write_episode_html(episode: RecordedEpisode, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(episode_html(episode), encoding="utf-8")
    return path
