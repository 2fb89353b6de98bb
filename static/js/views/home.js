// Overview: onboarding checklist (live over SSE), next best action, adaptive feed.

import { get } from "../api.js";
import { add, clear, formatDate, formatDay, h, humanize, pageHeader, problemBox } from "../dom.js";
import { openSSE } from "../realtime.js";

const STEP_LINKS = {
  profile_completed: "#/profile",
  goals_set: "#/profile",
  roles_viewed: "#/roles",
  learning_path_created: "#/paths",
  first_course_started: "#/courses",
  first_course_completed: "#/courses",
};

/** One adaptive recommendation as a card (shared with the courses screen). */
export function adaptiveCard(rec, live = false) {
  const content = rec.content || {};
  const course = content.course;
  return h("li", { class: `adaptive-item${live ? " is-new" : ""}`, dataset: { recId: rec.id, type: rec.recommendation_type, urgency: rec.urgency_level } },
    h("p", { class: "eyebrow" },
      humanize(rec.recommendation_type),
      rec.urgency_level ? h("span", { class: `badge badge-urgency-${rec.urgency_level}` }, rec.urgency_level) : null,
      live ? h("span", { class: "badge badge-new" }, "New") : null),
    content.message ? h("p", { class: "adaptive-message" }, content.message) : null,
    course ? h("p", { class: "adaptive-course" },
      course.url ? h("a", { href: course.url, target: "_blank", rel: "noopener noreferrer" }, course.title) : course.title,
      h("span", { class: "muted small" }, ` · ${course.provider} · ${humanize(course.difficulty)} · ${course.duration_hours} h`)) : null,
    rec.trigger_reason ? h("p", { class: "muted small" }, `Because: ${rec.trigger_reason}`) : null,
    rec.expected_impact ? h("p", { class: "small" }, rec.expected_impact) : null,
    h("p", { class: "muted small" }, formatDate(rec.created_at)));
}

function checklist(analysis) {
  const pa = analysis.progress_analysis || { steps: [], percent: 0 };
  const percent = Math.round(pa.percent || 0);
  const bar = h("div", { class: "progress", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": percent, "aria-label": "Onboarding progress" },
    h("div", { class: "progress-fill" }));
  bar.firstChild.style.width = `${percent}%`;
  const next = analysis.next_best_action;
  const pred = analysis.completion_prediction || {};
  return h("div", { class: "onboarding" },
    h("div", { class: "onboarding-head" },
      h("strong", { class: "big-number", "data-testid": "onboarding-percent" }, `${percent}%`),
      h("span", { class: "muted" }, "of getting started done"),
      // No verdict before there is engagement to judge (a new account is not "low").
      analysis.engagement_level && analysis.engagement_judged !== false
        ? h("span", { class: `badge badge-eng-${analysis.engagement_level}`, "data-testid": "engagement" }, `${analysis.engagement_level} engagement`)
        : null),
    bar,
    h("ul", { class: "checklist", "data-testid": "onboarding-steps" }, pa.steps.map((s) =>
      h("li", { class: s.done ? "done" : "", dataset: { step: s.key, done: s.done ? "1" : "0" } },
        h("span", { class: "check", "aria-hidden": "true" }, s.done ? "✓" : ""),
        STEP_LINKS[s.key] && !s.done ? h("a", { href: STEP_LINKS[s.key] }, s.title) : h("span", null, s.title),
        h("span", { class: "sr-only" }, s.done ? " (done)" : " (to do)")))),
    next && next.key ? h("div", { class: "next-action" },
      h("p", { class: "eyebrow" }, "Next best step"),
      h("p", null, h("a", { href: STEP_LINKS[next.key] || "#/" }, next.title), " — ", next.reason)) : null,
    pred.estimated_completion_date && percent < 100
      ? h("p", { class: "muted small" }, `At your pace you could finish by ${formatDay(pred.estimated_completion_date)} (${Math.round((pred.probability || 0) * 100)}% likely).`)
      : null);
}

export async function render(root, ctx) {
  const user = ctx.session.user;
  const onboardingBox = h("div", { class: "onboarding-host", "aria-live": "polite", "data-testid": "onboarding" }, h("div", { class: "skeleton skeleton-line" }));
  const liveNote = h("span", { class: "muted small live-note" });
  const feed = h("ol", { class: "adaptive-feed", "data-testid": "adaptive-feed", "aria-live": "polite" });
  const seen = new Set();
  const addRec = (rec, live) => {
    if (!rec || seen.has(rec.id)) return;
    seen.add(rec.id);
    feed.querySelector(".empty-note")?.remove();
    if (live) feed.prepend(adaptiveCard(rec, true));
    else add(feed, adaptiveCard(rec, false));
  };

  const stream = openSSE("/api/v1/onboarding/progress/stream", {
    progress: (data) => {
      add(clear(onboardingBox), checklist(data));
      onboardingBox.dataset.updated = String(Date.now());
      liveNote.textContent = `updated ${new Date().toLocaleTimeString()}`;
    },
  }, {
    name: "onboarding",
    onState: (state) => {
      onboardingBox.dataset.stream = state;
      // Not live: say since when the checklist has not been refreshed.
      const stale = state !== "connected" && state !== "connecting";
      onboardingBox.dataset.stale = stale ? "1" : "0";
      if (stale) {
        const since = onboardingBox.dataset.updated ? new Date(Number(onboardingBox.dataset.updated)).toLocaleTimeString() : "";
        liveNote.textContent = since ? `not live · as of ${since}` : "not live";
        liveNote.classList.add("stale-note");
      } else {
        liveNote.classList.remove("stale-note");
      }
    },
  });

  const unsubscribe = ctx.realtime.subscribe("recommendations", (msg) => {
    if (msg.event === "adaptive_recommendation") addRec(msg.data, true);
  });

  const greeting = new Date().getHours() < 12 ? "Good morning" : new Date().getHours() < 18 ? "Good afternoon" : "Good evening";
  const p = user.profile || {};
  add(root, 
    pageHeader(`${greeting}, ${user.display_name || "there"}`,
      p.current_role ? `${p.current_role}${p.goals && p.goals.length ? ` · aiming for ${p.goals.slice(0, 2).join(", ")}` : ""}` : "Let's find your next role."),
    h("div", { class: "grid-2 home-grid" },
      h("section", { class: "card", "aria-labelledby": "onb-h" },
        h("div", { class: "card-title-row" }, h("h2", { id: "onb-h" }, "Getting started"), liveNote),
        onboardingBox),
      h("section", { class: "card", "aria-labelledby": "feed-h" },
        h("div", { class: "card-title-row" }, h("h2", { id: "feed-h" }, "Suggestions for you"), h("a", { href: "#/courses", class: "small" }, "Go to courses")),
        feed)),
    h("section", { class: "quick-links", "aria-label": "Shortcuts" },
      [
        ["#/roles", "Match a job description", "See which roles fit and what you would need to learn."],
        ["#/paths", "Plan a learning path", "A week-by-week plan toward a target role."],
        ["#/tasks", "Run a career report", "A full analysis in the background, with live progress."],
        ["#/coach", "Ask the career coach", "Chat about your next move; answers stream in live."],
      ].map(([href, title, text]) => h("a", { class: "card quick-link", href }, h("strong", null, title), h("span", { class: "muted" }, text)))));

  try {
    const page = await get("recommendations/adaptive?limit=5");
    for (const r of page.items) addRec(r, false);
    if (!seen.size) add(feed, h("li", { class: "empty-note muted" }, "Nothing yet. Track courses you view, start, finish or skip, and suggestions will appear here live."));
  } catch (err) {
    add(feed, h("li", null, problemBox(err)));
  }

  return {
    cleanup() {
      stream.close();
      unsubscribe();
    },
  };
}
