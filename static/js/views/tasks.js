// Long-running tasks: start a career report or a batch match, watch live progress (SSE),
// cancel, see the result; list earlier tasks.

import { del, get, post } from "../api.js";
import { add, busy, chips, clear, clearProblem, field, formAlert, formatDate, h, humanize, pageHeader, problemBox, showProblem, sourceBadge, toast } from "../dom.js";
import { openSSE } from "../realtime.js";

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

function batchResult(result) {
  const rows = result.results || [];
  return h("div", { class: "report" },
    h("p", null, `${result.total ?? rows.length} descriptions matched${result.failed ? `, ${result.failed} failed` : ""}.`),
    h("table", { class: "table" },
      h("thead", null, h("tr", null, h("th", { scope: "col" }, "#"), h("th", { scope: "col" }, "Best role"), h("th", { scope: "col" }, "Score"), h("th", { scope: "col" }, "Source"))),
      h("tbody", null, rows.map((r, i) => {
        const top = (r.recommendations || [])[0];
        return h("tr", null,
          h("td", null, String((r.index ?? i) + 1)),
          h("td", null, r.error ? `Failed: ${r.error.message || r.error}` : top ? top.title : "No match"),
          h("td", null, top ? `${top.match_score}/100` : "—"),
          h("td", null, r.source ? sourceBadge(r.source) : "—"));
      }))));
}

function resultView(kind, result) {
  if (!result) return h("p", { class: "muted" }, "No result.");
  if (kind === "career_report") return careerReport(result);
  if (kind === "batch_role_match") return batchResult(result);
  return h("pre", { class: "json" }, JSON.stringify(result, null, 2));
}

/** A live task panel bound to the task's SSE stream. */
function taskPanel(task, { onFinished } = {}) {
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
  const setProgress = (value) => {
    const v = Math.max(0, Math.min(100, Math.round(value || 0)));
    fill.style.width = `${v}%`;
    bar.setAttribute("aria-valuenow", String(v));
    pct.textContent = `${v}%`;
  };
  const setStatus = (s) => {
    panel.dataset.status = s;
    status.dataset.status = s;
    status.textContent = humanize(s);
    cancel.hidden = ["succeeded", "failed", "cancelled"].includes(s);
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
      add(clear(result), h("h4", null, "Result"), resultView(task.kind, d.result));
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
      toast(`Could not cancel: ${err.detail || err.message}`, "error");
      busy(cancel, false);
    }
  });
  return { el: panel, close: () => stream.close() };
}

export async function render(root, ctx) {
  const kind = h("select", null, Object.entries(KIND_LABEL).map(([v, t]) => h("option", { value: v }, t)));
  const targetRole = h("input", { type: "text", placeholder: "Optional — otherwise your best match" });
  const descriptions = h("textarea", { rows: 6, placeholder: "Paste job descriptions, separated by a line with three dashes (---)" });
  const targetField = field("Target role", targetRole, { name: "target_role", hint: "A role title or id." });
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

  const openTask = (task, where = "prepend") => {
    if (panels.has(task.task_id)) {
      panels.get(task.task_id).el.scrollIntoView({ block: "nearest" });
      return;
    }
    const p = taskPanel(task, { onFinished: () => loadHistory() });
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
        const open = h("button", { type: "button", class: "btn btn-ghost btn-sm" }, "Open");
        open.addEventListener("click", () => openTask(t));
        add(history, h("li", { dataset: { taskId: t.task_id } },
          h("div", null, h("strong", null, KIND_LABEL[t.kind] || t.kind), " ",
            h("span", { class: "badge badge-status", dataset: { status: t.status } }, humanize(t.status))),
          h("span", { class: "muted small" }, `${formatDate(t.created_at)} · ${t.progress}%`), open));
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
      if (targetRole.value.trim()) params.target_role = targetRole.value.trim();
    } else {
      params.job_descriptions = descriptions.value.split(/\n\s*---+\s*\n/).map((s) => s.trim()).filter(Boolean);
      if (!params.job_descriptions.length) {
        showProblem(form, { title: "Nothing to match", detail: "Paste at least one job description.", errors: { job_descriptions: ["Required."] } });
        return;
      }
    }
    busy(start, true, "Starting…");
    try {
      const accepted = await post("tasks", { kind: kind.value, params });
      openTask({ ...accepted, kind: kind.value, progress: 0, created_at: new Date().toISOString() });
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
  return { cleanup: () => { for (const p of panels.values()) p.close(); } };
}
