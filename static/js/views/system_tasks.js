// Admin: every user's queued, running and failed tasks, with a confirmed cancel.

import { del, get } from "../api.js";
import { add, busy, clear, confirmDialog, formatDate, h, humanize, plainMessage, problemBox, toast } from "../dom.js";

const KIND_LABEL = { career_report: "Career report", batch_role_match: "Batch role match" };

export function adminTasks() {
  const body = h("tbody", { "data-testid": "admin-tasks" });
  const status = h("p", { class: "muted small", role: "status" });
  let last = "";
  let timer = null;

  async function load() {
    try {
      const page = await get("system/tasks?limit=50");
      clear(body);
      if (!page.items.length) add(body, h("tr", null, h("td", { colspan: 6, class: "muted" }, "No queued, running or failed tasks.")));
      for (const t of page.items) {
        const cancellable = ["queued", "running"].includes(t.status);
        const cancel = cancellable ? h("button", { type: "button", class: "btn btn-danger btn-sm", "aria-label": `Cancel ${KIND_LABEL[t.kind] || t.kind} of ${t.user_email}` }, "Cancel") : null;
        if (cancel) {
          cancel.addEventListener("click", async () => {
            const yes = await confirmDialog({
              title: "Cancel this task?",
              text: `${KIND_LABEL[t.kind] || t.kind} for ${t.user_email}, ${t.progress}% done. The user sees it end as cancelled.`,
              confirmLabel: "Cancel the task",
              dismissLabel: "Keep it",
              danger: true,
            });
            if (!yes) return;
            busy(cancel, true, "Cancelling…");
            try {
              await del(`system/tasks/${encodeURIComponent(t.task_id)}`);
              toast("Task cancelled.", "success");
              await load();
            } catch (err) {
              busy(cancel, false);
              toast(`Could not cancel: ${plainMessage(err)}`, "error");
            }
          });
        }
        add(body, h("tr", { dataset: { taskId: t.task_id, status: t.status } },
          h("td", null, KIND_LABEL[t.kind] || t.kind),
          h("td", null, h("span", { class: "badge badge-status", dataset: { status: t.status } }, humanize(t.status))),
          h("td", null, `${t.progress}%`, t.status === "failed" && t.error ? h("div", { class: "muted small" }, t.error.message || "") : null),
          h("td", { class: "batch-ad" }, t.user_email),
          h("td", null, formatDate(t.created_at)),
          h("td", null, cancel || "—")));
      }
      status.textContent = `Updated ${new Date().toLocaleTimeString()}.`;
    } catch (err) {
      add(clear(body), h("tr", null, h("td", { colspan: 6 }, problemBox(err))));
    }
  }

  const el = h("section", { class: "card", "aria-labelledby": "tasks-h" },
    h("h2", { id: "tasks-h" }, "Tasks (queued, running, failed)"),
    h("div", { class: "table-wrap" }, h("table", { class: "table table-stack" },
      h("thead", null, h("tr", null, ["Kind", "Status", "Progress", "User", "Created", "Action"].map((c) => h("th", { scope: "col" }, c)))),
      body)),
    status);
  return {
    el,
    load,
    /** The live counts changed: refresh the table (at most once a second). */
    counts(c) {
      const key = `${c.queued || 0}/${c.running || 0}`;
      if (key === last) return;
      last = key;
      clearTimeout(timer);
      timer = setTimeout(load, 300);
    },
    close: () => clearTimeout(timer),
  };
}
