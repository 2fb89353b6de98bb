// Role recommendations from a pasted job description.

import { post } from "../api.js";
import { add, busy, chips, clear, clearProblem, field, formAlert, formatDate, h, humanize, pageHeader, scoreRing, showProblem, sourceBadge } from "../dom.js";

const SAMPLE = "We are hiring a senior backend engineer to design and scale our Python services. "
  + "You will own PostgreSQL data models, build REST APIs, run workloads on Kubernetes and AWS, "
  + "and mentor other engineers. Experience with Kafka and observability is a plus.";

let lastAnswer = null; // kept while the app runs, so coming back shows the last result

function roleCard(rec, rank) {
  const matched = new Set((rec.matched_skills || []).map((s) => s.toLowerCase()));
  const missing = rec.missing_skills || (rec.required_skills || []).filter((s) => !matched.has(s.toLowerCase()));
  const required = h("ul", { class: "chips" }, (rec.required_skills || []).map((s) =>
    h("li", { class: matched.has(s.toLowerCase()) ? "chip chip-ok" : "chip" },
      matched.has(s.toLowerCase()) ? h("span", { class: "sr-only" }, "You have: ") : null, s)));
  const target = `#/paths?role=${encodeURIComponent(rec.role_id)}&title=${encodeURIComponent(rec.title)}`;
  return h("article", { class: "card role-card", dataset: { roleId: rec.role_id }, "aria-labelledby": `role-${rec.role_id}` },
    h("div", { class: "role-card-head" },
      scoreRing(rec.match_score),
      h("div", null,
        h("p", { class: "eyebrow" }, `#${rank} · ${humanize(rec.experience_level || "")}${rec.family ? ` · ${humanize(rec.family)}` : ""}`),
        h("h3", { id: `role-${rec.role_id}` }, rec.title),
        // `fit` (strong | partial | weak) is newer than the score: shown when the server sends it.
        rec.fit ? h("span", { class: `badge badge-fit`, dataset: { fit: rec.fit }, "data-testid": "role-fit" }, `${humanize(rec.fit)} fit`) : null)),
    h("p", { class: "role-desc" }, rec.description),
    h("details", { class: "reasoning", open: rank === 1 },
      h("summary", null, "Why this role"),
      h("p", null, rec.reasoning)),
    h("h4", null, "Required skills"),
    required,
    missing.length ? h("div", null, h("h4", null, "Your skill gaps"), chips(missing, "chip chip-gap")) : null,
    h("div", { class: "card-actions" }, h("a", { class: "btn btn-secondary btn-sm", href: target }, "Build a learning path")));
}

function renderAnswer(out, answer) {
  clear(out);
  const recs = answer.recommendations || [];
  add(out, 
    h("div", { class: "result-head" },
      h("h2", null, `${recs.length} matching role${recs.length === 1 ? "" : "s"}`),
      sourceBadge(answer.source),
      h("span", { class: "muted small" }, `analysed ${formatDate(answer.processed_at)}`)),
    answer.fit === "weak" || answer.weak_match ? h("div", { class: "alert alert-info", "data-testid": "weak-fit" }, "No role in our catalog fits this description well — treat these as loose suggestions, or add more detail to the description.") : null,
    h("div", { class: "role-grid", "data-testid": "role-results" }, recs.map((r, i) => roleCard(r, i + 1))),
    h("div", { class: "grid-2" },
      h("section", { class: "card", "aria-labelledby": "why-h" },
        h("h3", { id: "why-h" }, "How we read the description"),
        h("ul", { class: "plain-list" }, (answer.reasoning || []).map((r) => h("li", null, r)))),
      h("section", { class: "card", "aria-labelledby": "gaps-h" },
        h("h3", { id: "gaps-h" }, "Skill gaps across these roles"),
        chips(answer.skill_gaps, "chip chip-gap"),
        answer.alternative_suggestions && answer.alternative_suggestions.length
          ? h("div", null, h("h4", null, "Also worth a look"), chips(answer.alternative_suggestions))
          : null)));
}

export async function render(root) {
  const desc = h("textarea", { rows: 8, required: true, placeholder: "Paste a job description…", maxlength: 20000 });
  const limit = h("select", null, [3, 5, 8, 10].map((n) => h("option", { value: n, selected: n === 5 }, `${n} roles`)));
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Find matching roles");
  const sample = h("button", { type: "button", class: "btn btn-ghost" }, "Use a sample");
  sample.addEventListener("click", () => {
    desc.value = SAMPLE;
    desc.focus();
  });
  const out = h("div", { class: "results", "aria-live": "polite", "aria-busy": "false" });
  const form = h("form", { class: "card stack", novalidate: true },
    formAlert(),
    field("Job description", desc, { name: "job_description", hint: "The more detail, the better the match. Your profile skills are taken into account." }),
    h("div", { class: "row row-end" }, field("Show", limit, { name: "limit" }), h("div", { class: "form-actions" }, sample, submit)));

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearProblem(form);
    if (!desc.value.trim()) {
      showProblem(form, { status: 422, errors: { job_description: ["Paste a job description first."] } });
      return;
    }
    busy(submit, true, "Analysing…");
    out.setAttribute("aria-busy", "true");
    add(clear(out), h("div", { class: "skeleton-grid" }, [1, 2, 3].map(() => h("div", { class: "card skeleton" }))));
    try {
      lastAnswer = await post("recommendations/roles", { job_description: desc.value, limit: Number(limit.value) });
      renderAnswer(out, lastAnswer);
    } catch (err) {
      clear(out);
      showProblem(form, err);
    } finally {
      busy(submit, false);
      out.setAttribute("aria-busy", "false");
    }
  });

  add(root, pageHeader("Role match", "Paste a job description: we rank the roles it fits, explain why, and list what you would need to learn."), form, out);
  if (lastAnswer) renderAnswer(out, lastAnswer);
}
