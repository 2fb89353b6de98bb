// The admin's time chart on a <canvas>: two series on two axes, gaps where no data came
// (a line is never drawn across an outage), and dashed markers where a process restarted.

/** Break a line between points further apart than this many milliseconds. */
export function gapThreshold(bucketMs) {
  return Math.max(3500, bucketMs * 1.5 + 1000); // one missing bucket is already a gap
}

/** Split samples (sorted by t) into runs with no gap inside (exported for the tests). */
export function runs(samples, maxGapMs) {
  const out = [];
  let run = [];
  for (const s of samples) {
    if (run.length && s.t - run[run.length - 1].t > maxGapMs) {
      out.push(run);
      run = [];
    }
    run.push(s);
  }
  if (run.length) out.push(run);
  return out;
}

/**
 * Draw `samples` ([{t, lag, rps}]) over [from, to] (ms) with `restarts` ([ms]).
 * Returns the number of separate line segments drawn (gaps + 1), for the tests.
 */
export function drawChart(canvas, { samples, restarts = [], from, to, bucketMs = 1000 }) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 600;
  const hgt = canvas.clientHeight || 180;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(hgt * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(hgt * dpr);
  }
  const g = canvas.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, hgt);
  const css = getComputedStyle(document.documentElement);
  const grid = css.getPropertyValue("--line").trim() || "#dde";
  const c1 = css.getPropertyValue("--accent").trim() || "#4f46e5";
  const c2 = css.getPropertyValue("--warn").trim() || "#d97706";
  const text = css.getPropertyValue("--muted").trim() || "#667";
  const bad = css.getPropertyValue("--bad").trim() || "#b42318";
  const pad = { l: 40, r: 44, t: 14, b: 20 };
  const spanMs = Math.max(1, to - from);
  const x = (t) => pad.l + ((t - from) / spanMs) * (w - pad.l - pad.r);
  const maxLag = Math.max(10, ...samples.map((s) => s.lag));
  const maxRps = Math.max(5, ...samples.map((s) => s.rps));
  const yL = (v) => hgt - pad.b - (v / maxLag) * (hgt - pad.t - pad.b);
  const yR = (v) => hgt - pad.b - (v / maxRps) * (hgt - pad.t - pad.b);
  g.strokeStyle = grid;
  g.lineWidth = 1;
  g.font = "11px system-ui, sans-serif";
  g.fillStyle = text;
  for (let i = 0; i <= 4; i += 1) {
    const yy = pad.t + (i / 4) * (hgt - pad.t - pad.b);
    g.beginPath();
    g.moveTo(pad.l, yy);
    g.lineTo(w - pad.r, yy);
    g.stroke();
    g.fillText(`${Math.round(maxLag * (1 - i / 4))}`, 4, yy + 4);
    g.fillText(`${Math.round(maxRps * (1 - i / 4))}`, w - pad.r + 6, yy + 4);
  }
  g.fillText(spanMs >= 120_000 ? `−${Math.round(spanMs / 60_000)} min` : `−${Math.round(spanMs / 1000)} s`, pad.l, hgt - 4);
  g.fillText("now", w - pad.r - 20, hgt - 4);

  g.save();
  g.strokeStyle = bad;
  g.fillStyle = bad;
  g.setLineDash([4, 3]);
  for (const t of restarts) {
    if (t < from || t > to) continue;
    g.beginPath();
    g.moveTo(x(t), pad.t);
    g.lineTo(x(t), hgt - pad.b);
    g.stroke();
    g.fillText("restart", Math.min(x(t) + 3, w - pad.r - 40), pad.t - 3);
  }
  g.restore();

  const parts = runs(samples.filter((s) => s.t >= from), gapThreshold(bucketMs));
  const line = (color, pick, y) => {
    g.strokeStyle = color;
    g.fillStyle = color;
    g.lineWidth = 2;
    for (const run of parts) {
      g.beginPath();
      run.forEach((s, i) => (i === 0 ? g.moveTo(x(s.t), y(pick(s))) : g.lineTo(x(s.t), y(pick(s)))));
      g.stroke();
      if (run.length === 1) {
        g.beginPath();
        g.arc(x(run[0].t), y(pick(run[0])), 2, 0, Math.PI * 2);
        g.fill();
      }
    }
  };
  line(c1, (s) => s.lag, yL);
  line(c2, (s) => s.rps, yR);
  return parts.length;
}
