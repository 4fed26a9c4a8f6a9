// Plain canvas charts for the comparison page: grouped bars and horizontal bars, no library.
// Each draw records what it drew on the canvas (`data-bars`, the number of bars with a value),
// so a test can tell a drawn chart from an empty one.

const COLOURS = { sse: '#2b7bb9', websocket: '#d9822b', poll: '#5a9e4b', native: '#8a8a8a' };
const FONT = '12px system-ui, sans-serif';

function prepare(canvas) {
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.font = FONT;
  ctx.textBaseline = 'middle';
  return ctx;
}

/**
 * Grouped vertical bars: `groups` labels along the x axis, one bar per series in each group.
 * `series` is [{ name, label, values }] with one value per group.
 */
export function groupedBars(canvas, groups, series) {
  const ctx = prepare(canvas);
  const { width, height } = canvas;
  const left = 40;
  const bottom = height - 40;
  const top = 10;
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const groupWidth = (width - left - 10) / groups.length;
  const barWidth = (groupWidth - 8) / series.length;
  let bars = 0;
  ctx.strokeStyle = '#999';
  ctx.beginPath();
  ctx.moveTo(left, top);
  ctx.lineTo(left, bottom);
  ctx.lineTo(width - 10, bottom);
  ctx.stroke();
  ctx.fillStyle = '#555';
  ctx.textAlign = 'right';
  ctx.fillText(String(max), left - 4, top + 6);
  ctx.fillText('0', left - 4, bottom);
  groups.forEach((group, g) => {
    series.forEach((s, i) => {
      const value = s.values[g] ?? 0;
      const h = ((bottom - top) * value) / max;
      if (value > 0) bars++;
      ctx.fillStyle = COLOURS[s.name] ?? '#444';
      ctx.fillRect(left + 4 + g * groupWidth + i * barWidth, bottom - h, barWidth - 1, h);
    });
    ctx.fillStyle = '#555';
    ctx.textAlign = 'center';
    ctx.fillText(group, left + g * groupWidth + groupWidth / 2, bottom + 12);
  });
  legend(ctx, series, left, height - 10);
  canvas.dataset.bars = String(bars);
}

/** Horizontal bars, one per row: [{ name, label, value, text }]; a row without value shows its text. */
export function horizontalBars(canvas, rows) {
  const ctx = prepare(canvas);
  const { width } = canvas;
  const left = 330;
  const right = width - 90;
  const rowHeight = 28;
  const max = Math.max(1, ...rows.map((r) => r.value ?? 0));
  let bars = 0;
  rows.forEach((row, i) => {
    const y = 10 + i * rowHeight;
    ctx.fillStyle = '#333';
    ctx.textAlign = 'right';
    ctx.fillText(row.label, left - 8, y + rowHeight / 2 - 2);
    ctx.textAlign = 'left';
    if (row.value === null || row.value === undefined) {
      ctx.fillStyle = '#777';
      ctx.fillText(row.text ?? '–', left, y + rowHeight / 2 - 2);
      return;
    }
    bars++;
    const w = Math.max(2, ((right - left) * row.value) / max);
    ctx.fillStyle = COLOURS[row.name] ?? '#444';
    ctx.fillRect(left, y + 4, w, rowHeight - 12);
    ctx.fillStyle = '#333';
    ctx.fillText(row.text, left + w + 6, y + rowHeight / 2 - 2);
  });
  canvas.dataset.bars = String(bars);
}

function legend(ctx, series, x, y) {
  ctx.textAlign = 'left';
  for (const s of series) {
    ctx.fillStyle = COLOURS[s.name] ?? '#444';
    ctx.fillRect(x, y - 5, 10, 10);
    ctx.fillStyle = '#333';
    ctx.fillText(s.label, x + 14, y);
    x += ctx.measureText(s.label).width + 34;
  }
}
