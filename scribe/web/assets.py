"""The page's fixed text: examples, CSS, and the pen-capture canvas (HTML, CSS and JavaScript)."""
from __future__ import annotations

# The Scribe guide's three-line document: one writer per line, each at its own neatness.
GUIDE_DOC = [
    {"text": "Report due by 09:00 on March 15th, 1985.", "style": 0, "bias": 1.8},
    {"text": "Can't believe it - met him at 3:00pm!", "style": 3, "bias": 0.6},
    {"text": "Got your message (thanks!) - call me.", "style": 7, "bias": 1.2},
]
LINE_EXAMPLES = [
    ("The guide's three-line document (styles 0, 3, 7)", GUIDE_DOC),
    ("A note in blue ink", [
        {"text": "Dear Ada,", "style": 2, "bias": 1.0, "color": "#1f3a93", "width": 1.8},
        {"text": "the engine ran all night without a fault.", "style": 2, "bias": 1.0, "color": "#1f3a93"},
        {"text": "Yours, Charles", "style": 2, "bias": 1.4, "color": "#1f3a93", "width": 1.8},
    ]),
    ("One sentence, three hands", [
        {"text": "Every hand tells a story.", "style": s, "bias": 1.0} for s in (1, 5, 9)]),
]
QUICK_EXAMPLES = [
    ["The quick brown fox jumps over the lazy dog.\nPack my box with five dozen liquor jugs.", 4, 1.0],
    ["Meeting moved to Thursday at 10:30.\nBring the draft report and your ideas.", 6, 1.5],
    ["Rain again today. I stayed in, read a little, and wrote this letter to you.", 11, 0.5],
]

CSS = """
.scribe-preview { background: #fff; color: #222; border: 1px solid var(--border-color-primary);
  border-radius: 8px; padding: 12px; min-height: 180px; overflow: auto; }
.scribe-preview svg { display: block; max-width: 100%; height: auto; }
.scribe-empty { display: flex; align-items: center; justify-content: center; color: #777; }
.scribe-style-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 8px; }
.scribe-style { margin: 0; padding: 4px 6px; background: #fff; color: #222; border: 1px solid #ddd;
  border-radius: 6px; }
.scribe-style svg { display: block; max-width: 100%; height: auto; max-height: 60px; }
.scribe-style figcaption { font-size: 12px; }
.scribe-row-style { background: #fff; color: #666; border-radius: 6px; min-height: 40px; padding: 2px 4px;
  display: flex; align-items: center; overflow: hidden; font-size: 12px; }
.scribe-row-style svg { flex: none; max-width: none; width: auto; height: 40px; }   /* the line's start, legible */
.scribe-look { background: var(--block-background-fill); padding: 6px; }
.scribe-note { color: #777; font-size: 13px; }
.scribe-banner { border-left: 4px solid #d97706; padding: 8px 12px; background: #fef3c7; color: #222;
  border-radius: 4px; }
"""


# ---- the pen-capture canvas ----------------------------------------------------------------------------
CANVAS_W, CANVAS_H = 1000, 260          # the canvas's own pixels; CSS scales it to the column
CANVAS_HTML = f"""
<div class="scribe-ink-wrap">
  <canvas width="{CANVAS_W}" height="{CANVAS_H}" aria-label="Write here with a mouse, pen or finger"></canvas>
  <div class="scribe-ink-info">Write one line here with a mouse, pen or finger.</div>
</div>
"""

CANVAS_CSS = """
.scribe-ink-wrap { background: #fff; border: 1px solid #ccc; border-radius: 8px; padding: 4px; }
.scribe-ink-wrap canvas { width: 100%; height: auto; display: block; touch-action: none; cursor: crosshair; }
.scribe-ink-info { color: #777; font-size: 12px; padding: 2px 4px; }
"""

# Records pointer strokes as [{x, y, t}, ...] in canvas pixels (y down) and draws them as they come.
# The strokes live on the canvas element; "Make style" reads them through canvas.scribeInk().
CANVAS_JS = """
const canvas = element.querySelector('canvas');
const info = element.querySelector('.scribe-ink-info');
const ctx = canvas.getContext('2d');
let strokes = [], current = null;
function where(e) {
  const r = canvas.getBoundingClientRect();
  return {x: Math.round((e.clientX - r.left) * canvas.width / r.width * 10) / 10,
          y: Math.round((e.clientY - r.top) * canvas.height / r.height * 10) / 10,
          t: Math.round(e.timeStamp)};
}
function redraw() {
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = '#d0d7e2'; ctx.lineWidth = 1; ctx.setLineDash([6, 6]);
  ctx.beginPath(); ctx.moveTo(20, canvas.height * 0.68); ctx.lineTo(canvas.width - 20, canvas.height * 0.68);
  ctx.stroke(); ctx.setLineDash([]);
  ctx.strokeStyle = '#111'; ctx.lineWidth = 3; ctx.lineCap = 'round'; ctx.lineJoin = 'round';
  for (const s of strokes) {
    ctx.beginPath(); ctx.moveTo(s[0].x, s[0].y);
    for (const p of s) ctx.lineTo(p.x, p.y);
    if (s.length === 1) ctx.lineTo(s[0].x + 0.1, s[0].y);
    ctx.stroke();
  }
  const n = strokes.reduce((a, s) => a + s.length, 0);
  info.textContent = strokes.length ? `${strokes.length} strokes, ${n} points` :
    'Write one line here with a mouse, pen or finger.';
}
canvas.addEventListener('pointerdown', (e) => {
  e.preventDefault();
  canvas.setPointerCapture(e.pointerId);
  current = [where(e)];
  strokes.push(current);
  redraw();
});
canvas.addEventListener('pointermove', (e) => {
  if (!current) return;
  const evs = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
  for (const ev of (evs.length ? evs : [e])) current.push(where(ev));
  redraw();
});
for (const name of ['pointerup', 'pointercancel', 'lostpointercapture']) {
  canvas.addEventListener(name, () => { current = null; });
}
canvas.scribeInk = () => JSON.stringify({strokes: strokes});
canvas.scribeClear = () => { strokes = []; current = null; redraw(); };
redraw();
"""

READ_CANVAS_JS = """(ink, ...rest) => {
  const c = document.querySelector('#scribe-ink canvas');
  return [c && c.scribeInk ? c.scribeInk() : ink, ...rest];
}"""
CLEAR_CANVAS_JS = """() => {
  const c = document.querySelector('#scribe-ink canvas');
  if (c && c.scribeClear) c.scribeClear();
}"""

# The live preview (scribe.web.live, incremental): a write's first update is its empty page, the
# later ones only the strokes new since the last (views.live_preview_html); this keeps a copy of the
# page beside the component's own content (which Gradio patches in place on every update) and draws
# each update's strokes onto it, so what is sent does not grow with the page. Any other value (the
# finished page, a message) removes the copy and shows the component again.
LIVE_PREVIEW_JS = """
let kept = null;
const drop = () => { if (kept) kept.remove(); kept = null; element.style.display = ''; };
const sync = () => {
  const page = element.querySelector('.scribe-live[data-live]');
  const add = element.querySelector('.scribe-live-add[data-live]');
  if (page) {
    if (kept && kept.dataset.live === page.dataset.live) return;
    drop();
    kept = page.cloneNode(true);
    element.parentNode.insertBefore(kept, element.nextSibling);
    element.style.display = 'none';
  } else if (add && kept && kept.dataset.live === add.dataset.live) {
    for (const g of add.querySelectorAll('g[data-line]')) {
      const to = kept.querySelector('#line-' + g.dataset.line);
      if (to) for (const p of g.children) to.appendChild(p.cloneNode(true));
    }
  } else {
    drop();
  }
};
watch('value', sync);
sync();
"""
