/**
 * Hand-written SVG charts for the HTML reports: a line/scatter chart with horizontal reference lines
 * (the SLO), and a bar chart. No scripts, no fonts, no network: the markup is the chart. Pure.
 */

export const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Colours that stay apart for the colour-blind (Okabe–Ito). */
export const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];

export interface Point {
  x: number;
  y: number;
  /** shown on hover (an SVG <title>) */
  label?: string;
}

export interface Series {
  name: string;
  points: Point[];
  color?: string;
  /** drawn thicker, its points as stars, with a "winner" tag */
  highlight?: boolean;
  /** points only, no line */
  scatter?: boolean;
}

export interface LineChart {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** horizontal lines, e.g. an SLO bound */
  hLines?: { y: number; label: string }[];
  width?: number;
  height?: number;
}

/** Round steps (1, 2, 5 × 10^n) covering [0, max]. */
export function ticks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = 0; v <= max + step * 0.999; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

const fmt = (v: number) =>
  Math.abs(v) >= 1000
    ? `${Math.round(v / 100) / 10}k`
    : Math.abs(v) >= 10
      ? String(Math.round(v))
      : String(Math.round(v * 100) / 100);

const M = { left: 64, right: 16, top: 36, bottom: 48 };

function frame(id: string, title: string, w: number, h: number, xLabel: string, yLabel: string, body: string): string {
  return `<svg class="chart" data-chart="${esc(id)}" xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(title)}">
<text x="${w / 2}" y="20" text-anchor="middle" class="title">${esc(title)}</text>
<text x="${M.left + (w - M.left - M.right) / 2}" y="${h - 8}" text-anchor="middle" class="axis-label">${esc(xLabel)}</text>
<text transform="translate(14 ${M.top + (h - M.top - M.bottom) / 2}) rotate(-90)" text-anchor="middle" class="axis-label">${esc(yLabel)}</text>
${body}
</svg>`;
}

export function lineChart(c: LineChart): string {
  const w = c.width ?? 640;
  const h = c.height ?? 360;
  const pts = c.series.flatMap((s) => s.points);
  const xMax = Math.max(...pts.map((p) => p.x), 0) * 1.05 || 1;
  const yMax = Math.max(...pts.map((p) => p.y), ...(c.hLines ?? []).map((l) => l.y), 0) * 1.1 || 1;
  const xt = ticks(xMax);
  const yt = ticks(yMax);
  const X = (v: number) => M.left + (v / xt.at(-1)!) * (w - M.left - M.right);
  const Y = (v: number) => h - M.bottom - (v / yt.at(-1)!) * (h - M.top - M.bottom);
  const parts: string[] = [];
  parts.push(
    `<g class="grid">${yt.map((v) => `<line x1="${M.left}" x2="${w - M.right}" y1="${Y(v)}" y2="${Y(v)}"/><text x="${M.left - 6}" y="${Y(v) + 4}" text-anchor="end">${fmt(v)}</text>`).join("")}${xt.map((v) => `<text x="${X(v)}" y="${h - M.bottom + 16}" text-anchor="middle">${fmt(v)}</text>`).join("")}</g>`,
  );
  parts.push(
    `<line class="axis" x1="${M.left}" x2="${w - M.right}" y1="${h - M.bottom}" y2="${h - M.bottom}"/><line class="axis" x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${h - M.bottom}"/>`,
  );
  for (const l of c.hLines ?? [])
    parts.push(
      `<g class="slo"><line x1="${M.left}" x2="${w - M.right}" y1="${Y(l.y)}" y2="${Y(l.y)}"/><text x="${w - M.right - 4}" y="${Y(l.y) - 4}" text-anchor="end">${esc(l.label)}</text></g>`,
    );
  c.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const sorted = [...s.points].sort((a, b) => a.x - b.x);
    const line =
      !s.scatter && sorted.length > 1
        ? `<polyline fill="none" stroke="${color}" stroke-width="${s.highlight ? 3.5 : 1.8}" points="${sorted.map((p) => `${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`).join(" ")}"/>`
        : "";
    const marks = sorted
      .map((p) => {
        const t = p.label ? `<title>${esc(p.label)}</title>` : "";
        if (!s.highlight)
          return `<circle cx="${X(p.x).toFixed(1)}" cy="${Y(p.y).toFixed(1)}" r="4" fill="${color}">${t}</circle>`;
        const [cx, cy] = [X(p.x), Y(p.y)];
        const star = Array.from({ length: 10 }, (_, k) => {
          const r = k % 2 ? 3.5 : 8;
          const a = (Math.PI / 5) * k - Math.PI / 2;
          return `${(cx + r * Math.cos(a)).toFixed(1)},${(cy + r * Math.sin(a)).toFixed(1)}`;
        }).join(" ");
        return `<polygon class="winner-mark" points="${star}" fill="${color}" stroke="#000" stroke-width="0.8">${t}</polygon>`;
      })
      .join("");
    const tag =
      s.highlight && sorted.length
        ? `<text class="winner-tag" x="${X(sorted.at(-1)!.x) + 10}" y="${Y(sorted.at(-1)!.y) - 8}">★ winner</text>`
        : "";
    parts.push(
      `<g class="series" data-series="${esc(s.name)}"${s.highlight ? ' data-winner="true"' : ""}>${line}${marks}${tag}</g>`,
    );
  });
  const legend = c.series.map(
    (s, i) =>
      `<g transform="translate(${M.left + 8} ${M.top + 4 + i * 16})"><rect width="10" height="10" fill="${s.color ?? PALETTE[i % PALETTE.length]}"/><text x="16" y="9">${esc(s.name)}${s.highlight ? " ★" : ""}</text></g>`,
  );
  parts.push(`<g class="legend">${legend.join("")}</g>`);
  return frame(c.id, c.title, w, h, c.xLabel, c.yLabel, parts.join("\n"));
}

export interface BarChart {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  bars: { label: string; value: number; highlight?: boolean; color?: string; note?: string }[];
  width?: number;
  height?: number;
}

export function barChart(c: BarChart): string {
  // each bar's slot is wide enough for its label (about 6.2 px a character at 11 px), at most 22 characters
  const longest = Math.min(22, Math.max(0, ...c.bars.map((b) => b.label.length)));
  const w = c.width ?? Math.max(420, M.left + M.right + c.bars.length * Math.max(70, Math.ceil(longest * 6.4) + 8));
  const h = c.height ?? 320;
  const yt = ticks(Math.max(...c.bars.map((b) => b.value), 0) * 1.1 || 1);
  const Y = (v: number) => h - M.bottom - (v / yt.at(-1)!) * (h - M.top - M.bottom);
  const slot = (w - M.left - M.right) / Math.max(1, c.bars.length);
  const parts = [
    `<g class="grid">${yt.map((v) => `<line x1="${M.left}" x2="${w - M.right}" y1="${Y(v)}" y2="${Y(v)}"/><text x="${M.left - 6}" y="${Y(v) + 4}" text-anchor="end">${fmt(v)}</text>`).join("")}</g>`,
  ];
  c.bars.forEach((b, i) => {
    const x = M.left + i * slot + slot * 0.15;
    const bw = slot * 0.7;
    // a zero bar still shows, as a hairline, so every trial is on the chart
    const top = Math.min(Y(b.value), h - M.bottom - 1.5);
    parts.push(
      `<g class="bar" data-bar="${esc(b.label)}"${b.highlight ? ' data-winner="true"' : ""}><rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${bw.toFixed(1)}" height="${(h - M.bottom - top).toFixed(1)}" fill="${b.color ?? (b.highlight ? PALETTE[1] : PALETTE[0])}"${b.highlight ? ' stroke="#000" stroke-width="1.5"' : ""}><title>${esc(`${b.label}: ${fmt(b.value)}${b.note ? ` (${b.note})` : ""}`)}</title></rect><text x="${(x + bw / 2).toFixed(1)}" y="${(top - 4).toFixed(1)}" text-anchor="middle">${fmt(b.value)}${b.highlight ? " ★" : ""}</text><text x="${(x + bw / 2).toFixed(1)}" y="${h - M.bottom + 14}" text-anchor="middle" class="bar-label">${esc(b.label.length > 22 ? `${b.label.slice(0, 21)}…` : b.label)}</text></g>`,
    );
  });
  parts.push(`<line class="axis" x1="${M.left}" x2="${w - M.right}" y1="${h - M.bottom}" y2="${h - M.bottom}"/>`);
  return frame(c.id, c.title, w, h, c.xLabel, c.yLabel, parts.join("\n"));
}

export const STYLE = `body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1a1a1a;max-width:1400px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}.meta{color:#555;margin:2px 0}
.charts{display:flex;flex-wrap:wrap;gap:16px}.chart{background:#fff;border:1px solid #ddd;border-radius:6px}
.chart .title{font-weight:600;font-size:14px}.chart text{font-size:11px;fill:#333}.chart .axis-label{font-size:12px;fill:#555}
.chart .grid line{stroke:#eee}.chart .axis{stroke:#888}.chart .slo line{stroke:#D55E00;stroke-dasharray:6 4;stroke-width:1.5}.chart .slo text{fill:#D55E00}
.chart .winner-tag{font-weight:700;font-size:12px}
table{border-collapse:collapse;margin:8px 0 16px;font-variant-numeric:tabular-nums}th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f5f5f5}td:first-child,th:first-child{text-align:left}
tr.winner td{background:#fff4d6;font-weight:600}.miss{color:#b00}.ok{color:#070}pre{background:#f7f7f7;padding:8px;overflow:auto}
.def{color:#444;font-size:13px}`;

export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(title)}</title><style>${STYLE}</style></head>
<body>
${body}
</body></html>
`;
}
