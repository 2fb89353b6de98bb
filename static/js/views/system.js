// Admin: live system dashboard over SSE (metrics every second, breaker events),
// a chart of the last minutes, circuit breakers with isolate/reset.

import { get, post } from "../api.js";
import { add, busy, clear, formatDate, h, humanize, pageHeader, toast } from "../dom.js";
import { openSSE } from "../realtime.js";

const WINDOW_S = 300; // five minutes of samples

function tile(label, testid) {
  const value = h("strong", { class: "tile-value", "data-testid": testid }, "—");
  const sub = h("span", { class: "tile-sub muted small" }, "");
  return { el: h("div", { class: "card tile" }, h("span", { class: "tile-label" }, label), value, sub), value, sub };
}

function drawChart(canvas, samples) {
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
  const pad = { l: 40, r: 44, t: 10, b: 20 };
  const now = Date.now();
  // The axis grows with the data, from one minute up to the full window.
  const first = samples.length ? samples[0].t : now;
  const spanMs = Math.min(WINDOW_S * 1000, Math.max(60_000, now - first));
  const x = (t) => pad.l + ((t - (now - spanMs)) / spanMs) * (w - pad.l - pad.r);
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
  const line = (color, pick, y) => {
    g.strokeStyle = color;
    g.lineWidth = 2;
    g.beginPath();
    samples.forEach((s, i) => {
      const px = x(s.t);
      const py = y(pick(s));
      if (i === 0) g.moveTo(px, py);
      else g.lineTo(px, py);
    });
    g.stroke();
    g.fillStyle = color;
    const lastS = samples[samples.length - 1];
    g.beginPath();
    g.arc(x(lastS.t), y(pick(lastS)), 3, 0, Math.PI * 2);
    g.fill();
  };
  if (samples.length) {
    line(c1, (s) => s.lag, yL);
    line(c2, (s) => s.rps, yR);
  }
}

export async function render(root) {
  const lag = tile("Event-loop lag p99", "lag-p99");
  const conns = tile("Open connections", "connections");
  const tasks = tile("Tasks", "tasks");
  const rps = tile("Requests / s", "rps");
  const canvas = h("canvas", { class: "chart", role: "img", "aria-label": "Loop lag p99 (ms, left axis) and requests per second (right axis) over the last few minutes" });
  const breakerBody = h("tbody", { "data-testid": "breakers" });
  const events = h("ol", { class: "event-log", "aria-live": "polite", "aria-label": "Breaker events" });
  const updated = h("span", { class: "muted small", "data-testid": "metrics-updated" }, "waiting for metrics…");
  const samples = [];
  const breakers = new Map(); // name -> {state, failures, opened_at, shared}

  const stateBadge = (state) => h("span", { class: "badge badge-breaker", dataset: { state } }, humanize(state));

  function renderBreakers() {
    clear(breakerBody);
    if (!breakers.size) {
      add(breakerBody, h("tr", null, h("td", { colspan: 5, class: "muted" }, "No circuit breakers reported yet.")));
      return;
    }
    for (const [name, b] of [...breakers.entries()].sort()) {
      const isolate = h("button", { type: "button", class: "btn btn-danger btn-sm", disabled: b.state === "isolated" }, "Isolate");
      const reset = h("button", { type: "button", class: "btn btn-secondary btn-sm", disabled: b.state === "closed" }, "Reset");
      isolate.setAttribute("aria-label", `Isolate ${name}`);
      reset.setAttribute("aria-label", `Reset ${name}`);
      const act = (what, btn) => async () => {
        busy(btn, true);
        try {
          const answer = await post(`system/breakers/${encodeURIComponent(name)}/${what}`);
          if (answer && answer.state) breakers.set(name, { ...b, ...answer });
          toast(`${name}: ${what === "isolate" ? "isolated" : "reset"}.`, "success");
          renderBreakers();
        } catch (err) {
          toast(`${humanize(what)} failed: ${err.detail || err.message}`, "error");
          busy(btn, false);
        }
      };
      isolate.addEventListener("click", act("isolate", isolate));
      reset.addEventListener("click", act("reset", reset));
      add(breakerBody, h("tr", { dataset: { breaker: name, state: b.state } },
        h("th", { scope: "row" }, name, b.shared === false ? h("span", { class: "muted small" }, " (local)") : null),
        h("td", null, stateBadge(b.state)),
        h("td", null, b.failures ?? "—"),
        h("td", null, b.opened_at ? formatDate(b.opened_at) : "—"),
        h("td", { class: "btn-row" }, isolate, reset)));
    }
  }

  function onMetrics(m) {
    const l = m.loop_lag_ms || {};
    lag.value.textContent = `${(l.p99 ?? 0).toFixed(1)} ms`;
    lag.sub.textContent = `p50 ${(l.p50 ?? 0).toFixed(1)} · max ${(l.max ?? 0).toFixed(1)} ms`;
    const c = m.connections || {};
    conns.value.textContent = String((c.sse || 0) + (c.ws || 0));
    conns.sub.textContent = `${c.sse || 0} SSE · ${c.ws || 0} WebSocket`;
    const t = m.tasks || {};
    tasks.value.textContent = `${t.running || 0} running`;
    tasks.sub.textContent = `${t.queued || 0} queued`;
    rps.value.textContent = (m.requests_per_s ?? 0).toFixed(1);
    rps.sub.textContent = m.process && m.process.pid ? `process ${m.process.pid}` : "";
    let changed = false;
    for (const [name, state] of Object.entries(m.breakers || {})) {
      const b = breakers.get(name);
      if (!b || b.state !== state) {
        breakers.set(name, { ...(b || {}), state });
        changed = true;
      }
    }
    if (changed) renderBreakers();
    const ts = Date.parse(m.timestamp) || Date.now();
    samples.push({ t: ts, lag: l.p99 || 0, rps: m.requests_per_s || 0 });
    while (samples.length && samples[0].t < Date.now() - WINDOW_S * 1000) samples.shift();
    drawChart(canvas, samples);
    updated.textContent = `updated ${new Date(ts).toLocaleTimeString()}`;
    updated.dataset.count = String(Number(updated.dataset.count || 0) + 1);
  }

  function onBreaker(e) {
    const b = breakers.get(e.name) || {};
    breakers.set(e.name, { ...b, state: e.state, opened_at: e.state === "open" ? e.at : b.opened_at });
    renderBreakers();
    events.prepend(h("li", { dataset: { state: e.state } },
      h("span", { class: "muted small" }, new Date(e.at || Date.now()).toLocaleTimeString()), " ",
      h("strong", null, e.name), `: ${humanize(e.previous || "?")} → `, stateBadge(e.state)));
    while (events.children.length > 50) events.lastChild.remove();
  }

  add(root, 
    pageHeader("System", "Live health of this deployment: event loop, connections, tasks and circuit breakers.", updated),
    h("div", { class: "tiles" }, lag.el, conns.el, tasks.el, rps.el),
    h("section", { class: "card", "aria-labelledby": "chart-h" },
      h("div", { class: "card-title-row" }, h("h2", { id: "chart-h" }, "Recent minutes"),
        h("p", { class: "legend small" }, h("span", { class: "key key-lag" }), "loop lag p99 (ms) ", h("span", { class: "key key-rps" }), "requests/s")),
      canvas),
    h("div", { class: "grid-2" },
      h("section", { class: "card", "aria-labelledby": "br-h" }, h("h2", { id: "br-h" }, "Circuit breakers"),
        h("div", { class: "table-wrap" }, h("table", { class: "table" },
          h("thead", null, h("tr", null, ["Name", "State", "Failures", "Opened", "Actions"].map((c) => h("th", { scope: "col" }, c)))),
          breakerBody))),
      h("section", { class: "card", "aria-labelledby": "ev-h" }, h("h2", { id: "ev-h" }, "Breaker events"), events)));
  renderBreakers();

  try {
    const list = await get("system/breakers");
    for (const b of list.items || []) breakers.set(b.name, { ...breakers.get(b.name), ...b });
    renderBreakers();
  } catch {
    /* the list route may be unavailable; metrics still carry the states */
  }
  const stream = openSSE("/api/v1/system/stream", { metrics: onMetrics, breaker: onBreaker }, { name: "system" });
  const onResize = () => drawChart(canvas, samples);
  window.addEventListener("resize", onResize);
  return { cleanup: () => { stream.close(); window.removeEventListener("resize", onResize); } };
}
