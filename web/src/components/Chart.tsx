// Small hand-written SVG charts (no chart library: the console's initial JavaScript stays small).
// Each chart is a figure with a caption, a legend and the same numbers as a table for screen
// readers and for anyone who wants them exact.
import type { ReactNode } from 'react';

export interface Series {
  label: string;
  /** A colour with enough contrast against white for a line or a bar (3:1). */
  color: string;
  /** One value per x label. */
  values: number[];
}

interface ChartProps {
  title: string;
  /** The x axis: dates, months... one per value. */
  labels: string[];
  series: Series[];
  /** How a y value is written (money, a count). */
  format: (value: number) => string;
  kind: 'line' | 'bar';
  testId?: string;
  /** Whole numbers only (counts): no tick between 0 and an odd maximum. */
  integer?: boolean;
  /** The page already shows these numbers in a table of its own (named in the chart's label). */
  tableElsewhere?: string;
}

const WIDTH = 640;
const HEIGHT = 220;
const PAD = { top: 12, right: 12, bottom: 28, left: 72 };

/** A round upper bound for the y axis: 1, 2 or 5 × a power of ten. */
export function niceMax(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 5, 10].find((m) => m * power >= value) ?? 10;
  return step * power;
}

export function Chart({ title, labels, series, format, kind, testId, integer, tableElsewhere }: ChartProps) {
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const n = Math.max(labels.length, 1);
  const y = (v: number) => PAD.top + plotH - (Math.max(0, v) / max) * plotH;
  const ticks = [0, max / 2, max].filter((t) => !integer || Number.isInteger(t));
  // Line points sit on the x labels; bars share each label's slot.
  const slot = plotW / n;
  const xCenter = (i: number) => (kind === 'line' && n > 1 ? PAD.left + (i * plotW) / (n - 1) : PAD.left + slot * (i + 0.5));
  // At most ~6 x labels, always the first and the last.
  const every = Math.max(1, Math.ceil(n / 6));
  const shownLabel = (i: number) => i === 0 || i === n - 1 || (i % every === 0 && n - 1 - i >= every / 2);

  // A line's first and last labels sit on the plot's edges: keep them inside it.
  const anchor = (i: number) => (kind === 'line' && n > 1 ? (i === 0 ? 'start' : i === n - 1 ? 'end' : 'middle') : 'middle');

  let marks: ReactNode;
  if (kind === 'line') {
    marks = series.map((s) => (
      <g key={s.label} data-series={s.label}>
        <polyline
          fill="none"
          stroke={s.color}
          strokeWidth={2.5}
          strokeLinejoin="round"
          points={s.values.map((v, i) => `${xCenter(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}
        />
        {n <= 40 && s.values.map((v, i) => <circle key={i} cx={xCenter(i)} cy={y(v)} r={3} fill={s.color} />)}
      </g>
    ));
  } else {
    const groupW = slot * 0.8;
    const barW = groupW / Math.max(series.length, 1);
    marks = series.map((s, si) => (
      <g key={s.label} data-series={s.label}>
        {s.values.map((v, i) => (
          <rect
            key={i}
            x={PAD.left + slot * i + slot * 0.1 + barW * si}
            y={y(v)}
            width={Math.max(barW - 2, 1)}
            height={PAD.top + plotH - y(v)}
            fill={s.color}
          />
        ))}
      </g>
    ));
  }

  return (
    <figure className="chart" data-testid={testId}>
      <figcaption>{title}</figcaption>
      <ul className="legend" aria-hidden="true">
        {series.map((s) => (
          <li key={s.label}>
            <span className="swatch" style={{ background: s.color }} /> {s.label}: {format(s.values[s.values.length - 1] ?? 0)}
          </li>
        ))}
      </ul>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={`${title} (the numbers are in ${tableElsewhere ?? 'the table below'})`}>
        {ticks.map((t) => (
          <g key={t}>
            <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y(t)} y2={y(t)} stroke="#d0d5dc" strokeWidth={1} />
            <text x={PAD.left - 6} y={y(t) + 4} textAnchor="end" fontSize={11} fill="#333">
              {format(t)}
            </text>
          </g>
        ))}
        {labels.map((l, i) =>
          shownLabel(i) ? (
            <text key={i} x={xCenter(i)} y={HEIGHT - 8} textAnchor={anchor(i)} fontSize={11} fill="#333">
              {l}
            </text>
          ) : null,
        )}
        {marks}
      </svg>
      {!tableElsewhere && (
        <details>
          <summary>Show the numbers</summary>
          <table className="table">
            <caption className="sr-only">{title}</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                {series.map((s) => (
                  <th key={s.label} scope="col" className="num">
                    {s.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {labels.map((l, i) => (
                <tr key={i}>
                  <th scope="row">{l}</th>
                  {series.map((s) => (
                    <td key={s.label} className="num">
                      {format(s.values[i] ?? 0)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </figure>
  );
}
