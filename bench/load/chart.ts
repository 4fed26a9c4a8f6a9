/**
 * The benchmark's SVG chart, written by hand: one panel per headline figure, one horizontal bar per
 * system, the hub's bar in its own colour, the value printed at the end of each bar.
 */

export interface Panel {
  title: string;
  /** Which way is better, said under the title. */
  better: 'higher' | 'lower';
  unit: string;
  /** `highlight`: one of the hub's own bars (the bar labelled `herald` is too). */
  bars: { label: string; value: number | undefined; highlight?: boolean }[];
}

const WIDTH = 720;
const LABEL_W = 110;
const BAR_H = 20;
const GAP = 6;
const PANEL_PAD = 46;
const VALUE_W = 110;

const xml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function format(v: number): string {
  if (v >= 100) return Math.round(v).toLocaleString('en-US');
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

export function chart(title: string, panels: Panel[]): string {
  const parts: string[] = [];
  let y = 40;
  for (const panel of panels) {
    parts.push(
      `<text x="12" y="${y}" class="h">${xml(panel.title)}</text>`,
      `<text x="12" y="${y + 16}" class="n">${panel.better} is better</text>`,
    );
    y += PANEL_PAD - 14;
    const max = Math.max(...panel.bars.map((b) => b.value ?? 0), 1e-9);
    for (const bar of panel.bars) {
      const w =
        bar.value === undefined ? 0 : Math.max(1, ((WIDTH - LABEL_W - VALUE_W - 24) * bar.value) / max);
      const fill = bar.label === 'herald' || bar.highlight ? '#d9480f' : '#868e96';
      const text = bar.value === undefined ? 'not run' : `${format(bar.value)} ${panel.unit}`;
      parts.push(
        `<text x="${LABEL_W}" y="${y + 14}" text-anchor="end" class="l">${xml(bar.label)}</text>`,
        `<rect x="${LABEL_W + 8}" y="${y}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${fill}"/>`,
        `<text x="${LABEL_W + 14 + w}" y="${y + 14}" class="l">${xml(text)}</text>`,
      );
      y += BAR_H + GAP;
    }
    y += 22;
  }
  const height = y;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, sans-serif">
<style>.h{font-size:14px;font-weight:600}.n{font-size:11px;fill:#666}.l{font-size:12px}</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="12" y="20" font-size="16" font-weight="700">${xml(title)}</text>
${parts.join('\n')}
</svg>
`;
}
