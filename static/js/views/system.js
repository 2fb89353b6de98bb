// Admin: live system dashboard over SSE (metrics every second, breaker events) on top of
// the server-side history (last 15 min or 1 h, restart markers), circuit breakers with
// confirmed isolate/reset, and every user's queued/running/failed tasks with cancel.

import { get, post } from "../api.js";
import { drawChart } from "../chart.js";
import { add, busy, clear, confirmDialog, formatDate, h, humanize, pageHeader, plainMessage, problemBox, toast } from "../dom.js";
import { openSSE } from "../realtime.js";
import { adminTasks } from "./system_tasks.js";

const RANGES = { "15m": ["Last 15 min", 900_000], "1h": ["Last hour", 3_600_000] };
const STALE_AFTER_MS = 3000; // metrics come every second: three missed ones is stale

function tile(label, testid) {
  const value = h("strong", { class: "tile-value", "data-testid": testid }, "—");
  const sub = h("span", { class: "tile-sub muted small" }, "");
  return { el: h("div", { class: "card tile" }, h("span", { class: "tile-label" }, label), value, sub), value, sub };
}

const BREAKER_CONFIRM = {
  isolate: (name) => ({
    title: `Isolate ${name}?`,
    text: "Every call through this circuit is refused until you reset it; the features behind it fall back to the local engine.",
    confirmLabel: "Isolate",
    danger: true,
  }),
  reset: (name) => ({
    title: `Reset ${name}?`,
    text: "The circuit closes and calls go to the provider again, even if it is still failing.",
    confirmLabel: "Reset",
  }),
};

export async function render(root) {
  const lag = tile("Event-loop lag p99", "lag-p99");
  const conns = tile("Open connections", "connections");
  const tasks = tile("Tasks", "tasks");
  const rps = tile("Requests / s", "rps");
  const tiles = h("div", { class: "tiles", "data-testid": "tiles", dataset: { stale: "0" } }, lag.el, conns.el, tasks.el, rps.el);
  const canvas = h("canvas", { class: "chart", role: "img", "data-testid": "chart", "aria-label": "Loop lag p99 (ms, left axis) and requests per second (right axis); gaps mean no data, dashed lines mark restarts" });
  const breakerBody = h("tbody", { "data-testid": "breakers" });
  const events = h("ol", { class: "event-log", "aria-live": "polite", "aria-label": "Breaker events" });
  const updated = h("span", { class: "muted small", "data-testid": "metrics-updated", role: "status" }, "waiting for metrics…");
  const chartNote = h("p", { class: "muted small", "data-testid": "chart-note" });
  const breakers = new Map(); // name -> {state, failures, opened_at, shared}
  let range = "15m";
  let samples = []; // {t, lag, rps}
  let restarts = []; // ms
  let bucketMs = 1000;
  let lastMetricsAt = 0;

  const redraw = () => {
    const to = Date.now();
    const segments = drawChart(canvas, { samples, restarts, from: to - RANGES[range][1], to, bucketMs });
    canvas.dataset.segments = String(segments);
    canvas.dataset.restarts = String(restarts.filter((t) => t >= to - RANGES[range][1]).length);
    chartNote.textContent = samples.length
      ? `${segments > 1 ? `${segments - 1} gap${segments > 2 ? "s" : ""} (no data). ` : ""}${canvas.dataset.restarts} restart${canvas.dataset.restarts === "1" ? "" : "s"} in range.`
      : "No data in this range yet.";
  };

  async function loadHistory() {
    try {
      const hist = await get(`system/history?range=${range}`);
      bucketMs = Math.round(hist.bucket_s * 1000);
      const live = samples.filter((s) => s.live && s.t > Date.parse(hist.to));
      samples = hist.samples.map((s) => ({ t: Date.parse(s.at), lag: s.lag_p99_ms, rps: s.requests_per_s }));
      samples.push(...live);
      restarts = hist.restarts.map((r) => Date.parse(r.at));
      redraw();
    } catch (err) {
      chartNote.textContent = `History unavailable: ${plainMessage(err)}`;
    }
  }

  const rangeButtons = Object.entries(RANGES).map(([key, [label]]) => {
    const b = h("button", { type: "button", class: "btn btn-ghost btn-sm", "aria-pressed": String(key === range), dataset: { range: key } }, label);
    b.addEventListener("click", () => {
      range = key;
      for (const other of rangeButtons) other.setAttribute("aria-pressed", String(other === b));
      loadHistory();
    });
    return b;
  });

  const stateBadge = (state) => h("span", { class: "badge badge-breaker", dataset: { state } }, humanize(state));

  function renderBreakers() {
    clear(breakerBody);
    if (!breakers.size) {
      add(breakerBody, h("tr", null, h("td", { colspan: 5, class: "muted" }, "No circuit breakers reported yet.")));
      return;
    }
    for (const [name, b] of [...breakers.entries()].sort()) {
      const isolate = h("button", { type: "button", class: "btn btn-danger btn-sm", disabled: b.state === "isolated", "aria-label": `Isolate ${name}` }, "Isolate");
      const reset = h("button", { type: "button", class: "btn btn-secondary btn-sm", disabled: b.state === "closed", "aria-label": `Reset ${name}` }, "Reset");
      const act = (what, btn) => async () => {
        if (!(await confirmDialog(BREAKER_CONFIRM[what](name)))) return;
        busy(btn, true);
        try {
          const answer = await post(`system/breakers/${encodeURIComponent(name)}/${what}`);
          if (answer && answer.state) breakers.set(name, { ...b, ...answer });
          toast(`${name}: ${what === "isolate" ? "isolated" : "reset"}.`, "success");
          renderBreakers();
        } catch (err) {
          toast(`${humanize(what)} failed: ${plainMessage(err)}`, "error");
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
        h("td", null, h("div", { class: "btn-row" }, isolate, reset))));
    }
  }

  const taskTable = adminTasks();

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
    taskTable.counts(t);
    const ts = Date.parse(m.timestamp) || Date.now();
    lastMetricsAt = Date.now();
    samples.push({ t: ts, lag: l.p99 || 0, rps: m.requests_per_s || 0, live: true });
    const from = Date.now() - RANGES[range][1];
    while (samples.length && samples[0].t < from) samples.shift();
    markStale(false);
    redraw();
    updated.textContent = `updated ${new Date(ts).toLocaleTimeString()}`;
    updated.dataset.count = String(Number(updated.dataset.count || 0) + 1);
  }

  // Numbers that stopped updating say so: the tiles are struck through and the note
  // names the time of the last update (the server may be down or unreachable).
  function markStale(stale) {
    const was = tiles.dataset.stale === "1";
    if (stale === was) return;
    tiles.dataset.stale = stale ? "1" : "0";
    for (const t of tiles.children) t.dataset.stale = stale ? "1" : "0";
    if (stale) {
      updated.textContent = `No update since ${new Date(lastMetricsAt || Date.now()).toLocaleTimeString()}: these figures may be out of date.`;
      updated.classList.add("stale-note");
    } else {
      updated.classList.remove("stale-note");
    }
  }
  const staleTimer = setInterval(() => {
    if (lastMetricsAt && Date.now() - lastMetricsAt > STALE_AFTER_MS) {
      markStale(true);
      redraw(); // the gap grows visibly while no data comes
    }
  }, 1000);

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
    pageHeader("System", "Health of this deployment: event loop, connections, tasks and circuit breakers.", updated),
    tiles,
    h("section", { class: "card", "aria-labelledby": "chart-h" },
      h("div", { class: "card-title-row" }, h("h2", { id: "chart-h" }, "History"),
        h("div", { class: "range-switch", role: "group", "aria-label": "Time range" }, rangeButtons)),
      h("p", { class: "legend small" }, h("span", { class: "key key-lag" }), "loop lag p99 (ms) ", h("span", { class: "key key-rps" }), "requests/s ", h("span", { class: "key key-restart" }), "restart"),
      canvas, chartNote),
    taskTable.el,
    h("div", { class: "grid-2" },
      h("section", { class: "card", "aria-labelledby": "br-h" }, h("h2", { id: "br-h" }, "Circuit breakers"),
        h("div", { class: "table-wrap" }, h("table", { class: "table table-stack" },
          h("thead", null, h("tr", null, ["Name", "State", "Failures", "Opened", "Actions"].map((c) => h("th", { scope: "col" }, c)))),
          breakerBody))),
      h("section", { class: "card", "aria-labelledby": "ev-h" }, h("h2", { id: "ev-h" }, "Breaker events"), events)));
  renderBreakers();

  try {
    const list = await get("system/breakers");
    for (const b of list.items || []) breakers.set(b.name, { ...breakers.get(b.name), ...b });
    renderBreakers();
  } catch (err) {
    add(clear(breakerBody), h("tr", null, h("td", { colspan: 5 }, problemBox(err))));
  }
  await Promise.all([loadHistory(), taskTable.load()]);
  const stream = openSSE("/api/v1/system/stream", {
    metrics: onMetrics,
    breaker: onBreaker,
    // Back after an outage: what the server recorded meanwhile (restart markers; the
    // time nobody reported stays a gap) replaces our guesswork.
    __reopened: () => { loadHistory(); taskTable.load(); },
  }, { name: "system" });
  const onResize = () => redraw();
  window.addEventListener("resize", onResize);
  return {
    cleanup: () => {
      stream.close();
      clearInterval(staleTimer);
      taskTable.close();
      window.removeEventListener("resize", onResize);
    },
  };
}
