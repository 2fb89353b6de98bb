// Learning paths: build one toward a role, list them, open one (milestones).

import { get, post } from "../api.js";
import { add, busy, chips, clear, clearProblem, field, formAlert, formatDay, h, humanize, pageHeader, plainMessage, problemBox, showProblem, sourceBadge } from "../dom.js";
import { roleSuggestions } from "../suggest.js";

function titleOf(path) {
  const t = path.target_role;
  return (t && (t.title || t.role_id)) || String(t || "Learning path");
}

/** "Mark done" on a milestone course: the same `complete` interaction as the course list
 * (WebSocket with an ack, REST when the socket is down), so onboarding and adaptive
 * recommendations see it too. */
function doneButton(course, ctx) {
  const btn = h("button", { type: "button", class: "btn btn-ghost btn-sm", "aria-label": `Mark done: ${course.title}` }, "Mark done");
  const status = h("span", { class: "small", role: "status" });
  btn.addEventListener("click", async () => {
    btn.disabled = true;
    try {
      await ctx.realtime.interaction({ type: "complete", course_id: course.course_id });
      btn.replaceWith(h("span", { class: "course-done", dataset: { done: "1" } }, "✓ Done"));
    } catch (err) {
      btn.disabled = false;
      status.textContent = `Not saved: ${plainMessage(err)}`;
    }
  });
  return [btn, status];
}

function pathView(path, ctx) {
  const total = path.target_role && path.target_role.total_hours;
  const milestones = path.milestones || [];
  return h("article", { class: "card path-detail", dataset: { pathId: path.id }, "aria-labelledby": "path-title" },
    h("div", { class: "result-head" },
      h("h2", { id: "path-title" }, `Path to ${titleOf(path)}`),
      sourceBadge(path.source)),
    h("p", { class: "muted" },
      `${path.timeline_weeks} weeks`,
      path.weekly_hours ? ` · ${path.weekly_hours} h/week` : "",
      total ? ` · ${Math.round(total)} hours of courses` : "",
      ` · created ${formatDay(path.created_at)}`),
    path.skill_gaps && path.skill_gaps.length ? h("div", null, h("h3", null, "Skills this path closes"), chips(path.skill_gaps, "chip chip-gap")) : null,
    h("h3", null, "Milestones"),
    h("ol", { class: "timeline", "data-testid": "milestones" }, milestones.map((m) =>
      h("li", { class: "milestone" },
        h("div", { class: "milestone-week" }, h("span", null, "Week"), h("strong", null, String(m.week))),
        h("div", { class: "milestone-body" },
          h("h4", null, m.title),
          m.skills && m.skills.length ? chips(m.skills) : null,
          h("ul", { class: "course-mini-list" }, (m.courses || []).map((c) =>
            h("li", { dataset: { courseId: c.course_id } },
              h("span", { class: "course-mini-title" }, c.title),
              h("span", { class: "muted small" },
                ` ${c.provider} · ${c.duration_hours} h · ${humanize(c.difficulty)}`,
                c.start_week ? ` · weeks ${c.start_week}–${c.end_week}` : ""),
              doneButton(c, ctx)))))))));
}

export async function render(root, ctx) {
  const openId = ctx.params[0] || null;
  const presetRole = ctx.query.get("role") || "";
  const presetTitle = ctx.query.get("title") || "";

  const role = h("input", { type: "text", required: true, value: presetTitle || presetRole, placeholder: "e.g. Data Engineer", autocomplete: "off" });
  const suggest = roleSuggestions(role);
  role.dataset.roleId = presetRole;
  const weeks = h("input", { type: "number", min: 1, max: 104, placeholder: "auto", inputmode: "numeric" });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Build learning path");
  const form = h("form", { class: "card stack", novalidate: true },
    h("h2", null, "New learning path"),
    formAlert(),
    field("Target role", role, { name: "target_role", hint: "Start typing: matching roles from the catalog are suggested." }),
    suggest.list,
    field("Timeline in weeks", weeks, { name: "timeline_weeks", hint: "Leave empty to fit your weekly hours." }),
    h("div", { class: "form-actions" }, submit));
  const list = h("ul", { class: "path-list", "aria-label": "Your learning paths" });
  const detail = h("div", { class: "path-detail-host", "aria-live": "polite" });

  async function loadList(selected) {
    try {
      const page = await get("learning-paths?limit=50");
      clear(list);
      if (!page.items.length) add(list, h("li", { class: "muted" }, "No paths yet — build your first one."));
      for (const p of page.items) {
        add(list, h("li", null, h("a", {
          href: `#/paths/${p.id}`,
          "aria-current": p.id === selected ? "page" : null,
        }, h("strong", null, titleOf(p)), h("span", { class: "muted small" }, `${p.timeline_weeks} weeks · ${formatDay(p.created_at)}`))));
      }
    } catch (err) {
      add(clear(list), h("li", null, problemBox(err)));
    }
  }

  async function open(id) {
    add(clear(detail), h("div", { class: "card skeleton" }));
    try {
      add(clear(detail), pathView(await get(`learning-paths/${encodeURIComponent(id)}`), ctx));
    } catch (err) {
      add(clear(detail), problemBox(err));
    }
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearProblem(form);
    const target = role.dataset.roleId || role.value.trim();
    if (!target) {
      showProblem(form, { status: 422, errors: { target_role: ["Choose the role you are aiming for."] } });
      return;
    }
    const body = { target_role: target };
    if (weeks.value) body.timeline_weeks = Number(weeks.value);
    busy(submit, true, "Building…");
    try {
      const path = await post("learning-paths", body);
      add(clear(detail), pathView(path, ctx));
      history.replaceState(null, "", `#/paths/${path.id}`);
      await loadList(path.id);
      detail.querySelector("h2")?.setAttribute("tabindex", "-1");
      detail.querySelector("h2")?.focus();
    } catch (err) {
      showProblem(form, err);
      const min = err.problem && err.problem.minimum_weeks;
      if (min) {
        const fix = h("button", { type: "button", class: "btn btn-secondary btn-sm" }, `Use ${min} weeks`);
        fix.addEventListener("click", () => {
          weeks.value = String(Math.min(min, 104));
          form.requestSubmit();
        });
        add(form.querySelector(".form-alert"), h("div", { class: "alert-actions" }, fix));
      }
    } finally {
      busy(submit, false);
    }
  });

  add(root, 
    pageHeader("Learning paths", "A week-by-week plan of courses toward the role you want."),
    h("div", { class: "split" },
      h("aside", { class: "split-side" }, form, h("section", { class: "card", "aria-labelledby": "paths-h" }, h("h2", { id: "paths-h" }, "Your paths"), list)),
      h("div", { class: "split-main" }, detail)));
  if (!openId) add(detail, h("div", { class: "empty card" }, h("h2", null, "No path open"), h("p", null, "Build a path or open one from your list.")));
  await Promise.all([loadList(openId), openId ? open(openId) : null]);
  return { cleanup: suggest.cancel };
}
