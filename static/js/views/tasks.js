// Long-running tasks: start a career report or a batch match, watch live progress (SSE),
// cancel, see the result; list earlier tasks.

import { del, get, post } from "../api.js";
import { add, busy, chips, clear, clearProblem, field, formAlert, formatDate, h, humanize, pageHeader, plainMessage, problemBox, showProblem, sourceBadge, toast } from "../dom.js";
import { openSSE } from "../realtime.js";
import { roleSuggestions } from "../suggest.js";

const KIND_LABEL = { career_report: "Career report", batch_role_match: "Batch role match" };
const FINAL = ["complete", "failed", "cancelled"];

function careerReport(result) {
  const analysis = result.profile_analysis || {};
  const roles = (result.role_recommendations && result.role_recommendations.recommendations) || [];
  const gaps = result.skill_gaps;
  const path = result.learning_path;
  return h("div", { class: "report" },
    analysis.summary ? h("section", null, h("h4", null, "Your profile"), h("p", null, analysis.summary)) : null,
    roles.length ? h("section", null,
      h("h4", null, "Best-fitting roles ", result.role_recommendations.source ? sourceBadge(result.role_recommendations.source) : null),
      h("ol", { class: "plain-list" }, roles.map((r) => h("li", null, h("strong", null, r.title), ` — ${r.match_score}/100`)))) : null,
    gaps ? h("section", null,
      h("h4", null, `Skill gaps for ${gaps.title} (${gaps.coverage_percent}% covered)`),
      chips((gaps.missing || []).map((m) => m.name || m), "chip chip-gap")) : null,
    path ? h("section", null,
      h("h4", null, "Learning path"),
      h("p", null, `${(path.milestones || []).length} milestones over ${path.timeline_weeks} weeks. `,
        path.id ? h("a", { href: `#/paths/${path.id}` }, "Open the path") : null)) : null);
}

/** Rows of a batch result as plain records (for the table and the downloads). */
function batchRows(result, descriptions) {
  return (result.results || []).map((r, i) => {
    const top = (r.recommendations || [])[0];
    const index = r.index ?? i;
    return {
      number: index + 1,
      ad: r.excerpt || firstWords((descriptions || [])[index] || ""),
      best_role: r.error ? "" : top ? top.title : "",
      match_score: top ? top.match_score : null,
      fit: top && top.fit ? top.fit : "",
      source: r.source || "",
      error: r.error ? r.error.message || String(r.error) : "",
    };
  });
}

function firstWords(text) {
  const words = text.split(/\s+/).filter(Boolean);
  return words.slice(0, 12).join(" ") + (words.length > 12 ? "…" : "");
}

const csvCell = (v) => {
  const t = v === null || v === undefined ? "" : String(v);
  // A leading = + - @ would run as a formula in a spreadsheet: quote it as text.
  const safe = /^[=+\-@\t\r]/.test(t) ? `'${t}` : t;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h("a", { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function batchResult(result, { taskId, descriptions } = {}) {
  const rows = batchRows(result, descriptions);
  const stamp = (taskId || "batch").slice(0, 8);
  const csv = h("button", { type: "button", class: "btn btn-secondary btn-sm" }, "Download CSV");
  csv.addEventListener("click", () => {
    const cols = ["number", "ad", "best_role", "match_score", "fit", "source", "error"];
    const lines = [cols.join(","), ...rows.map((r) => cols.map((c) => csvCell(r[c])).join(","))];
    download(`fluentpro-batch-${stamp}.csv`, "text/csv;charset=utf-8", `${lines.join("\r\n")}\r\n`);
  });
  const nd = h("button", { type: "button", class: "btn btn-ghost btn-sm" }, "Download NDJSON");
  nd.addEventListener("click", () => {
    const lines = (result.results || []).map((r, i) => JSON.stringify({ ...r, excerpt: rows[i].ad }));
    download(`fluentpro-batch-${stamp}.ndjson`, "application/x-ndjson", `${lines.join("\n")}\n`);
  });
  const anyFit = rows.some((r) => r.fit);
  return h("div", { class: "report" },
    h("div", { class: "result-head" },
      h("p", { class: "alert-text" }, `${result.total ?? rows.length} descriptions matched${result.failed ? `, ${result.failed} failed` : ""}.`),
      h("div", { class: "spacer" }), csv, nd),
    h("div", { class: "table-wrap" }, h("table", { class: "table table-stack", "data-testid": "batch-table" },
      h("caption", { class: "sr-only" }, "Best role for each job description"),
      h("thead", null, h("tr", null, ["#", "Job ad", "Best role", "Score", anyFit ? "Fit" : null, "Source"].filter(Boolean).map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", null, rows.map((r, i) => h("tr", null,
        h("td", null, String(r.number)),
        h("td", { class: "batch-ad" }, r.ad || "—"),
        h("td", null, r.error ? `Failed: ${r.error}` : r.best_role || "No match"),
        h("td", null, r.match_score !== null ? `${r.match_score}/100` : "—"),
        anyFit ? h("td", null, r.fit || "—") : null,
        h("td", null, (result.results || [])[i]?.source ? sourceBadge(result.results[i].source) : "—")))))));
}

function resultView(kind, result, extra) {
  if (!result) return h("p", { class: "muted" }, "No result.");
  if (kind === "career_report") return careerReport(result);
  if (kind === "batch_role_match") return batchResult(result, extra);
  return h("pre", { class: "json" }, JSON.stringify(result, null, 2));
}

/** A live task panel bound to the task's SSE stream. `onState({status, progress})` is
 * called on every change, so the list shows what the panel shows (one source: events). */
function taskPanel(task, { onFinished, onState } = {}) {
  const fill = h("div", { class: "progress-fill" });
  const bar = h("div", { class: "progress progress-lg", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": 0, "aria-label": "Task progress" }, fill);
  const pct = h("span", { class: "progress-pct", "data-testid": "task-percent" }, "0%");
  const status = h("span", { class: "badge badge-status", dataset: { status: task.status || "queued" } }, humanize(task.status || "queued"));
  const message = h("p", { class: "task-message", role: "status", "aria-live": "polite" }, task.message || "Waiting for a worker…");
  const log = h("ol", { class: "task-log", "aria-label": "Progress messages" });
  const cancel = h("button", { type: "button", class: "btn btn-danger btn-sm" }, "Cancel");
  const result = h("div", { class: "task-result", "aria-live": "polite" });
  const panel = h("article", { class: "card task-panel", dataset: { taskId: task.task_id, status: task.status || "queued" } },
    h("div", { class: "result-head" },
      h("h3", null, KIND_LABEL[task.kind] || humanize(task.kind)), status,
      h("span", { class: "muted small" }, formatDate(task.created_at || new Date().toISOString())),
      h("div", { class: "spacer" }), cancel),
    h("div", { class: "progress-row" }, bar, pct),
    message,
    h("details", { class: "task-log-wrap" }, h("summary", null, "Activity"), log),
    result);
  let lastMessage = "";
  const now = { status: task.status || "queued", progress: task.progress || 0 };
  const setProgress = (value) => {
    const v = Math.max(0, Math.min(100, Math.round(value || 0)));
    fill.style.width = `${v}%`;
    bar.setAttribute("aria-valuenow", String(v));
    pct.textContent = `${v}%`;
    now.progress = v;
    if (onState) onState({ ...now });
  };
  const setStatus = (s) => {
    panel.dataset.status = s;
    status.dataset.status = s;
    status.textContent = humanize(s);
    cancel.hidden = ["succeeded", "failed", "cancelled"].includes(s);
    now.status = s;
    if (onState) onState({ ...now });
  };
  setProgress(task.progress);
  setStatus(task.status || "queued");

  const finish = (s, text) => {
    setStatus(s);
    message.textContent = text;
    if (onFinished) onFinished();
    stream.close();
  };

  const stream = openSSE(`/api/v1/tasks/${encodeURIComponent(task.task_id)}/events`, {
    progress: (d) => {
      setProgress(d.progress);
      if (d.status) setStatus(d.status);
      if (d.message) {
        message.textContent = d.message;
        if (d.message !== lastMessage) {
          add(log, h("li", null, h("span", { class: "muted small" }, new Date(d.timestamp || Date.now()).toLocaleTimeString()), ` ${d.message}`));
          lastMessage = d.message;
        }
      }
    },
    complete: (d) => {
      setProgress(100);
      finish("succeeded", "Finished.");
      add(clear(result), h("h4", null, "Result"), resultView(task.kind, d.result, { taskId: task.task_id, descriptions: task.descriptions }));
    },
    failed: (d) => {
      const e = d.error || {};
      finish("failed", `Failed: ${e.message || e.detail || "unknown error"}`);
      add(clear(result), problemBox({ title: "The task failed", detail: e.message || JSON.stringify(e) }));
    },
    cancelled: () => finish("cancelled", "Cancelled."),
  }, { name: `task-${task.task_id}`, closeOn: FINAL });

  cancel.addEventListener("click", async () => {
    busy(cancel, true, "Cancelling…");
    try {
      await del(`tasks/${encodeURIComponent(task.task_id)}`);
      message.textContent = "Cancelling…";
    } catch (err) {
      toast(`Could not cancel: ${plainMessage(err)}`, "error");
      busy(cancel, false);
    }
  });
  return { el: panel, close: () => stream.close() };
}

export async function render(root, ctx) {
  const kind = h("select", null, Object.entries(KIND_LABEL).map(([v, t]) => h("option", { value: v }, t)));
  const targetRole = h("input", { type: "text", placeholder: "Optional — otherwise your best match" });
  const suggest = roleSuggestions(targetRole);
  const descriptions = h("textarea", { rows: 6, placeholder: "Paste job descriptions, separated by a line with three dashes (---)" });
  const targetField = field("Target role", targetRole, { name: "target_role", hint: "Start typing: matching roles from the catalog are suggested." });
  targetField.append(suggest.list);
  const descField = field("Job descriptions", descriptions, { name: "job_descriptions", hint: "Up to 500, separated by a line containing ---" });
  const sync = () => {
    targetField.hidden = kind.value !== "career_report";
    descField.hidden = kind.value !== "batch_role_match";
  };
  kind.addEventListener("change", sync);
  sync();
  const start = h("button", { type: "submit", class: "btn btn-primary" }, "Start");
  const form = h("form", { class: "card stack", novalidate: true },
    h("h2", null, "Start a task"), formAlert(), field("What to run", kind, { name: "kind" }), targetField, descField,
    h("div", { class: "form-actions" }, start));
  const live = h("div", { class: "task-host", "data-testid": "task-live" });
  const history = h("ul", { class: "task-list", "aria-label": "Earlier tasks" });
  const panels = new Map();

  // The task's own events are the one source of its state: a list row shows what the
  // panel of the same task last heard (the list's GET is only the starting point), and
  // every unfinished task gets a live panel, so no row can say "Queued 0 %" while the
  // task runs.
  const states = new Map(); // task_id -> {status, progress}
  const rowFor = (id) => history.querySelector(`li[data-task-id="${CSS.escape(id)}"]`);
  const paintRow = (id) => {
    const row = rowFor(id);
    const st = states.get(id);
    if (!row || !st) return;
    const badge = row.querySelector(".badge-status");
    badge.dataset.status = st.status;
    badge.textContent = humanize(st.status);
    row.dataset.status = st.status;
    row.querySelector(".task-pct").textContent = `${st.progress}%`;
  };
  const setState = (id, st) => {
    states.set(id, st);
    paintRow(id);
  };

  const openTask = (task, where = "prepend") => {
    if (panels.has(task.task_id)) {
      panels.get(task.task_id).el.scrollIntoView({ block: "nearest" });
      return;
    }
    const p = taskPanel(task, { onFinished: () => loadHistory(), onState: (st) => setState(task.task_id, st) });
    panels.set(task.task_id, p);
    if (where === "prepend") live.prepend(p.el);
    else add(live, p.el);
  };

  async function loadHistory() {
    try {
      const page = await get("tasks?limit=10");
      clear(history);
      if (!page.items.length) add(history, h("li", { class: "muted" }, "No tasks yet."));
      for (const t of page.items) {
        if (!states.has(t.task_id) || !panels.has(t.task_id)) states.set(t.task_id, { status: t.status, progress: t.progress });
        const open = h("button", { type: "button", class: "btn btn-ghost btn-sm", "aria-label": `Open ${KIND_LABEL[t.kind] || t.kind} of ${formatDate(t.created_at)}` }, "Open");
        open.addEventListener("click", () => openTask(t));
        add(history, h("li", { dataset: { taskId: t.task_id, status: t.status } },
          h("div", null, h("strong", null, KIND_LABEL[t.kind] || t.kind), " ",
            h("span", { class: "badge badge-status", dataset: { status: t.status } }, humanize(t.status))),
          h("span", { class: "muted small" }, `${formatDate(t.created_at)} · `, h("span", { class: "task-pct" }, `${t.progress}%`)), open));
        paintRow(t.task_id);
        if (["queued", "running"].includes(t.status) && !panels.has(t.task_id)) openTask(t, "append");
      }
    } catch (err) {
      add(clear(history), h("li", null, problemBox(err)));
    }
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearProblem(form);
    const params = {};
    if (kind.value === "career_report") {
      if (targetRole.value.trim()) params.target_role = targetRole.dataset.roleId || targetRole.value.trim();
    } else {
      params.job_descriptions = descriptions.value.split(/\n\s*---+\s*\n/).map((s) => s.trim()).filter(Boolean);
      if (!params.job_descriptions.length) {
        showProblem(form, { status: 422, errors: { job_descriptions: ["Paste at least one job description."] } });
        return;
      }
    }
    busy(start, true, "Starting…");
    try {
      const accepted = await post("tasks", { kind: kind.value, params });
      openTask({ ...accepted, kind: kind.value, progress: 0, created_at: new Date().toISOString(), descriptions: params.job_descriptions });
      loadHistory();
    } catch (err) {
      showProblem(form, err);
    } finally {
      busy(start, false);
    }
  });

  add(root, 
    pageHeader("Reports & tasks", "Long analyses run in the background. Watch them progress live, or come back later."),
    h("div", { class: "split" },
      h("aside", { class: "split-side" }, form, h("section", { class: "card", "aria-labelledby": "hist-h" }, h("h2", { id: "hist-h" }, "Recent tasks"), history)),
      h("div", { class: "split-main" }, live)));
  await loadHistory();
  const preset = ctx.params[0];
  if (preset) {
    try {
      openTask(await get(`tasks/${encodeURIComponent(preset)}`));
    } catch (err) {
      add(live, problemBox(err));
    }
  }
  return { cleanup: () => { suggest.cancel(); for (const p of panels.values()) p.close(); } };
}
