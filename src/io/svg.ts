/** A minimal SVG line/scatter plot, enough for the sine figures. */
import { checkOptionsObject } from '../checks.js';

export interface Series {
  label: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  color: string;
  /** 'line' (default), 'points', or 'band': the region between `y` and `lower`. */
  style?: 'line' | 'points' | 'band';
  dashed?: boolean;
  /** A band's lower edge. */
  lower?: ArrayLike<number>;
  /** Line width (default 2) and opacity (default 1), for many thin lines such as an ensemble's members. */
  width?: number;
  opacity?: number;
  /** Whether the series has a legend entry. Default true. */
  legend?: boolean;
}

/** Renders series on shared axes as an SVG document. */
export function plotSvg(series: readonly Series[], options: { title?: string; width?: number; height?: number } = {}): string {
  checkOptionsObject('plotSvg', options, { title: true, width: true, height: true }, "{ title: 'sine', width: 640 }");
  const W = options.width ?? 640, H = options.height ?? 400, pad = 48;
  if (!(W > 0 && H > 0 && W < Infinity && H < Infinity)) throw new RangeError(`plotSvg: width and height must be positive numbers, got ${W} and ${H}`);
  // A NaN point (a diverged prediction) would make every coordinate NaN and the file blank.
  for (const s of series) {
    if (s.x.length !== s.y.length) throw new RangeError(`plotSvg: series '${s.label}' has ${s.x.length} x values but ${s.y.length} y values`);
    if (s.style === 'band' && (s.lower === undefined || s.lower.length !== s.x.length)) throw new RangeError(`plotSvg: band '${s.label}' needs a lower edge of ${s.x.length} values`);
    for (let i = 0; s.lower !== undefined && i < s.lower.length; i++) {
      if (!Number.isFinite(s.lower[i])) throw new RangeError(`plotSvg: band '${s.label}' has a non-finite lower point ${i} (${s.lower[i]})`);
    }
    for (let i = 0; i < s.x.length; i++) {
      if (!Number.isFinite(s.x[i]) || !Number.isFinite(s.y[i])) throw new RangeError(`plotSvg: series '${s.label}' has a non-finite point ${i} (${s.x[i]}, ${s.y[i]})`);
    }
  }
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const s of series) {
    for (let i = 0; i < s.x.length; i++) {
      x0 = Math.min(x0, s.x[i]!); x1 = Math.max(x1, s.x[i]!);
      y0 = Math.min(y0, s.y[i]!, s.lower?.[i] ?? Infinity); y1 = Math.max(y1, s.y[i]!, s.lower?.[i] ?? -Infinity);
    }
  }
  if (!(x1 > x0)) { x0 -= 1; x1 += 1; }
  if (!(y1 > y0)) { y0 -= 1; y1 += 1; }
  const sx = (x: number) => pad + ((x - x0) / (x1 - x0)) * (W - 2 * pad);
  const sy = (y: number) => H - pad - ((y - y0) / (y1 - y0)) * (H - 2 * pad);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<line x1="${pad}" y1="${H - pad}" x2="${W - pad}" y2="${H - pad}" stroke="#888"/>`,
    `<line x1="${pad}" y1="${pad}" x2="${pad}" y2="${H - pad}" stroke="#888"/>`,
    `<text x="${pad}" y="${H - pad + 16}">${x0.toFixed(1)}</text><text x="${W - pad - 24}" y="${H - pad + 16}">${x1.toFixed(1)}</text>`,
    `<text x="4" y="${H - pad}">${y0.toFixed(1)}</text><text x="4" y="${pad + 4}">${y1.toFixed(1)}</text>`,
  ];
  if (options.title) parts.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(options.title)}</text>`);
  let entry = 0;
  series.forEach((s) => {
    const opacity = s.opacity === undefined ? '' : ` opacity="${s.opacity}"`;
    if (s.style === 'band') {
      const upper = Array.from({ length: s.x.length }, (_, i) => `${i === 0 ? 'M' : 'L'}${sx(s.x[i]!).toFixed(1)},${sy(s.y[i]!).toFixed(1)}`);
      const lower = Array.from({ length: s.x.length }, (_, j) => s.x.length - 1 - j).map((i) => `L${sx(s.x[i]!).toFixed(1)},${sy(s.lower![i]!).toFixed(1)}`);
      parts.push(`<path d="${[...upper, ...lower].join(' ')} Z" fill="${escapeXml(s.color)}" stroke="none" opacity="${s.opacity ?? 0.25}"/>`);
    } else if (s.style === 'points') {
      for (let i = 0; i < s.x.length; i++) parts.push(`<circle cx="${sx(s.x[i]!).toFixed(1)}" cy="${sy(s.y[i]!).toFixed(1)}" r="4" fill="${escapeXml(s.color)}"/>`);
    } else {
      const d = Array.from({ length: s.x.length }, (_, i) => `${i === 0 ? 'M' : 'L'}${sx(s.x[i]!).toFixed(1)},${sy(s.y[i]!).toFixed(1)}`).join(' ');
      parts.push(`<path d="${d}" fill="none" stroke="${escapeXml(s.color)}" stroke-width="${s.width ?? 2}"${opacity}${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    }
    if (s.legend === false) return;
    const ly = pad + 16 * entry++;
    parts.push(`<rect x="${W - pad - 150}" y="${ly - 9}" width="12" height="12" fill="${escapeXml(s.color)}"/><text x="${W - pad - 132}" y="${ly + 1}">${escapeXml(s.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Escapes text for element content and quoted attribute values alike. */
function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
