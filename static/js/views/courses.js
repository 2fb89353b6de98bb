// Courses: streamed recommendations per goal (NDJSON), catalog search, interaction
// buttons, and the live "adapting to you" feed (WebSocket, REST fallback).

import { get, ndjson } from "../api.js";
import { add, busy, clear, clearProblem, field, formAlert, h, humanize, pageHeader, plainMessage, problemBox, scoreRing, showProblem, toast } from "../dom.js";
import { adaptiveCard } from "./home.js";

const ACTIONS = [
  ["view", "View"],
  ["start", "Start"],
  ["complete", "Complete"],
  ["skip", "Skip"],
];

function interactionBar(course, ctx) {
  const status = h("p", { class: "ack small", role: "status", "aria-live": "polite" });
  const send = async (type, value, button) => {
    busy(button, true);
    try {
      const event = { type, course_id: course.course_id };
      if (value !== undefined) event.value = value;
      const { via } = await ctx.realtime.interaction(event);
      status.dataset.acked = type;
      const done = { view: "Viewed", start: "Started", complete: "Completed", skip: "Skipped", rate: `Rated ${value}/5` }[type];
      status.textContent = `${done} · saved${via === "ws" ? " (live)" : ""}`;
      if (via === "rest") ctx.onRestInteraction?.();
    } catch (err) {
      status.dataset.acked = "";
      status.textContent = `Not saved: ${plainMessage(err)}`;
      toast(`Could not record that: ${plainMessage(err)}`, "error");
    } finally {
      busy(button, false);
    }
  };
  const buttons = ACTIONS.map(([type, label]) => {
    const b = h("button", { type: "button", class: "btn btn-ghost btn-sm", dataset: { action: type } }, label);
    b.setAttribute("aria-label", `${label}: ${course.title}`);
    b.addEventListener("click", () => send(type, undefined, b));
    return b;
  });
  const rate = h("select", { class: "rate-select", "aria-label": `Rate ${course.title}` },
    h("option", { value: "" }, "Rate…"), [5, 4, 3, 2, 1].map((n) => h("option", { value: n }, `${"★".repeat(n)} ${n}`)));
  rate.addEventListener("change", () => {
    if (rate.value) send("rate", Number(rate.value), rate).finally(() => { rate.value = ""; });
  });
  return h("div", { class: "interaction-bar" }, h("div", { class: "btn-row", role: "group", "aria-label": "Track this course" }, buttons, rate), status);
}

function courseCard(course, ctx, extra) {
  return h("article", { class: "card course-card", dataset: { courseId: course.course_id, difficulty: course.difficulty } },
    h("div", { class: "course-head" },
      extra && extra.score !== undefined ? scoreRing(extra.score, "fit") : null,
      h("div", null,
        h("p", { class: "eyebrow" }, `${course.provider} · ${humanize(course.difficulty)} · ${course.duration_hours} h`),
        h("h3", null, course.url ? h("a", { href: course.url, target: "_blank", rel: "noopener noreferrer" }, course.title) : course.title))),
    course.description ? h("p", { class: "course-desc" }, course.description) : null,
    extra && extra.body,
    interactionBar(course, ctx));
}

function recommendationCard(line, ctx) {
  const c = line.course_recommendation;
  const pre = line.prerequisite_analysis || {};
  const body = h("div", { class: "course-meta" },
    h("dl", { class: "facts" },
      h("div", null, h("dt", null, "Goal"), h("dd", null, line.learning_goal)),
      h("div", null, h("dt", null, "Step"), h("dd", null, `#${line.position_in_sequence}`)),
      h("div", null, h("dt", null, "Difficulty fit"), h("dd", null, humanize(line.difficulty_match))),
      h("div", null, h("dt", null, "Time"), h("dd", null, line.estimated_completion_time))),
    pre.missing && pre.missing.length ? h("p", { class: "small" }, h("strong", null, "Missing prerequisites: "), pre.missing.join(", "),
      pre.recommended && pre.recommended.length ? ` — try ${pre.recommended.join(", ")} first.` : "") : null);
  return courseCard(c, ctx, { score: line.relevance_score, body });
}

export async function render(root, ctx) {
  const user = ctx.session.user;
  const goals = h("input", { type: "text", value: ((user.profile && user.profile.goals) || []).join(", "), placeholder: "e.g. machine learning, kubernetes" });
  const limit = h("select", null, [5, 10, 20].map((n) => h("option", { value: n, selected: n === 10 }, `${n} courses`)));
  const streamBtn = h("button", { type: "submit", class: "btn btn-primary" }, "Recommend courses");
  const stopBtn = h("button", { type: "button", class: "btn btn-ghost", hidden: true }, "Stop");
  const streamStatus = h("p", { class: "stream-status muted", role: "status", "aria-live": "polite" });
  const streamList = h("div", { class: "course-grid", "data-testid": "course-stream", "aria-live": "polite", "aria-relevant": "additions" });
  const streamForm = h("form", { class: "card stack", novalidate: true },
    formAlert(),
    h("div", { class: "row row-end" },
      field("Learning goals", goals, { name: "goals", hint: "Separate goals with commas." }),
      field("How many", limit, { name: "limit" }),
      h("div", { class: "form-actions" }, stopBtn, streamBtn)));
  let controller = null;

  streamForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearProblem(streamForm);
    const list = goals.value.split(",").map((g) => g.trim()).filter(Boolean);
    if (!list.length) {
      showProblem(streamForm, { status: 422, errors: { goals: ["Enter at least one learning goal."] } });
      return;
    }
    if (controller) controller.abort();
    controller = new AbortController();
    const qs = new URLSearchParams();
    for (const g of list) qs.append("goals", g);
    qs.set("limit", limit.value);
    clear(streamList);
    streamList.setAttribute("aria-busy", "true");
    streamStatus.textContent = "Finding courses…";
    busy(streamBtn, true, "Streaming…");
    stopBtn.hidden = false;
    let n = 0;
    try {
      await ndjson(`recommendations/courses/stream?${qs}`, (line) => {
        if (line.error) {
          streamList.after(h("div", { class: "alert alert-error stream-error", role: "alert" },
            h("strong", null, "The stream stopped early. "), line.error.message || "Unknown error",
            line.error.fallback_available ? " A fallback is available — try again." : ""));
          return;
        }
        if (!line.course_recommendation) return;
        n += 1;
        add(streamList, recommendationCard(line, ctx));
        streamStatus.textContent = `${n} course${n === 1 ? "" : "s"} so far…`;
      }, { signal: controller.signal });
      streamStatus.textContent = n ? `${n} course${n === 1 ? "" : "s"} recommended.` : "No courses matched these goals.";
    } catch (err) {
      if (err.name === "AbortError") streamStatus.textContent = `Stopped after ${n} course${n === 1 ? "" : "s"}.`;
      else {
        streamStatus.textContent = "";
        showProblem(streamForm, err);
      }
    } finally {
      streamList.setAttribute("aria-busy", "false");
      busy(streamBtn, false);
      stopBtn.hidden = true;
      controller = null;
    }
  });
  stopBtn.addEventListener("click", () => controller && controller.abort());
  for (const old of root.querySelectorAll(".stream-error")) old.remove();

  // Catalog search
  const q = h("input", { type: "search", placeholder: "Search the catalog" });
  const difficulty = h("select", null, h("option", { value: "" }, "Any level"),
    ["beginner", "intermediate", "advanced"].map((d) => h("option", { value: d }, humanize(d))));
  const searchBtn = h("button", { type: "submit", class: "btn btn-secondary" }, "Search");
  const searchList = h("div", { class: "course-grid", "data-testid": "course-search", "aria-live": "polite" });
  const searchForm = h("form", { class: "card stack", role: "search", novalidate: true },
    formAlert(),
    h("div", { class: "row row-end" }, field("Search", q, { name: "q" }), field("Level", difficulty, { name: "difficulty" }),
      h("div", { class: "form-actions" }, searchBtn)));
  searchForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearProblem(searchForm);
    const qs = new URLSearchParams({ limit: "12" });
    if (q.value.trim()) qs.set("q", q.value.trim());
    if (difficulty.value) qs.set("difficulty", difficulty.value);
    busy(searchBtn, true, "Searching…");
    try {
      const page = await get(`courses?${qs}`);
      clear(searchList);
      if (!page.items.length) add(searchList, h("p", { class: "muted" }, "No courses found."));
      for (const c of page.items) add(searchList, courseCard({ ...c, course_id: c.id }, ctx));
    } catch (err) {
      showProblem(searchForm, err);
    } finally {
      busy(searchBtn, false);
    }
  });

  // Adaptive feed
  const feed = h("ol", { class: "adaptive-feed", "data-testid": "adaptive-feed", "aria-live": "polite", "aria-label": "Adaptive recommendations" });
  const seen = new Set();
  const addRec = (rec, live) => {
    if (!rec || seen.has(rec.id)) return;
    seen.add(rec.id);
    const card = adaptiveCard(rec, live);
    if (live) feed.prepend(card);
    else add(feed, card);
    feed.querySelector(".empty-note")?.remove();
  };
  const loadAdaptive = async () => {
    try {
      const page = await get("recommendations/adaptive?limit=10");
      const fresh = page.items.filter((r) => !seen.has(r.id));
      for (const r of fresh.reverse()) addRec(r, seen.size > 0);
      if (!seen.size && !feed.querySelector(".empty-note")) add(feed, h("li", { class: "empty-note muted" }, "As you view, start, finish or skip courses, suggestions appear here."));
    } catch (err) {
      add(clear(feed), h("li", null, problemBox(err)));
    }
  };
  await loadAdaptive();
  const unsubscribe = ctx.realtime.subscribe("recommendations", (msg) => {
    if (msg.event === "adaptive_recommendation") {
      addRec(msg.data, true);
      toast("New suggestion based on your activity.", "info");
    }
  });
  let refreshTimer = null;
  ctx.onRestInteraction = () => {
    // Without the live socket, poll the adaptive list briefly after each interaction.
    clearTimeout(refreshTimer);
    let tries = 0;
    const tick = async () => {
      tries += 1;
      await loadAdaptive();
      if (tries < 5) refreshTimer = setTimeout(tick, 1200);
    };
    refreshTimer = setTimeout(tick, 600);
  };

  add(root, 
    pageHeader("Courses", "Recommendations arrive one by one as they are found. Track what you do and FluentPro adapts."),
    h("div", { class: "split split-right" },
      h("div", { class: "split-main" },
        h("section", { "aria-labelledby": "stream-h" }, h("h2", { id: "stream-h" }, "Recommended for your goals"), streamForm, streamStatus, streamList),
        h("section", { "aria-labelledby": "search-h" }, h("h2", { id: "search-h" }, "Browse the catalog"), searchForm, searchList)),
      h("aside", { class: "split-side", "aria-labelledby": "adaptive-h" },
        h("div", { class: "card sticky" }, h("h2", { id: "adaptive-h" }, "Adapting to you"), feed))));

  return {
    cleanup() {
      if (controller) controller.abort();
      unsubscribe();
      clearTimeout(refreshTimer);
    },
  };
}
