// Password tools: a live strength meter (debounced analyse) and a generator.

import { post } from "../api.js";
import { add, busy, clear, clearProblem, debounce, field, formAlert, h, humanize, pageHeader, problemBox, showProblem, toast } from "../dom.js";

const STRENGTH_LABEL = {
  very_weak: "Very weak",
  weak: "Weak",
  fair: "Fair",
  moderate: "Fair",
  strong: "Strong",
  very_strong: "Very strong",
};

/** A meter that analyses a password through the API; {el, analyse(pw, context), cancel()}. */
export function strengthMeter({ compact = false } = {}) {
  const bar = h("div", { class: "meter-bar" }, h("div", { class: "meter-fill" }));
  const label = h("span", { class: "meter-label" }, "Type a password to see how strong it is.");
  const score = h("span", { class: "meter-score" });
  const details = h("div", { class: "meter-details" });
  const el = h("div", { class: `meter${compact ? " meter-compact" : ""}`, dataset: { strength: "none" }, "aria-live": "polite" },
    h("div", { class: "meter-head" }, label, score), bar, details);
  let controller = null;
  let seq = 0;

  function paint(result) {
    const pct = Math.max(0, Math.min(100, result.security_score));
    bar.firstChild.style.width = `${Math.max(pct, 4)}%`;
    el.dataset.strength = result.strength;
    label.textContent = STRENGTH_LABEL[result.strength] || humanize(result.strength);
    score.textContent = `${pct}/100`;
    clear(details);
    const ct = result.crack_time || {};
    if (!compact) {
      add(details, h("dl", { class: "crack-times" },
        h("div", null, h("dt", null, "Online attack (throttled)"), h("dd", null, ct.online_throttled || "—")),
        h("div", null, h("dt", null, "Offline, slow hash"), h("dd", null, ct.offline_slow_hash || "—")),
        h("div", null, h("dt", null, "Offline, fast hash"), h("dd", null, ct.offline_fast_hash || "—")),
        h("div", null, h("dt", null, "Entropy"), h("dd", null, `${Math.round(result.entropy_bits)} bits`))));
    }
    if (compact) {
      // Beside a form: one sentence, the most useful one (the full list is on Password tools).
      const line = result.breached
        ? "This password appears in public breach lists: choose another."
        : (result.recommendations || [])[0] || (result.vulnerabilities || [])[0];
      if (line && pct < 70) add(details, h("p", { class: "small meter-tip" }, line));
      return;
    }
    if (result.breached) add(details, h("p", { class: "pw-breached" }, "This password appears in public breach lists. Do not use it."));
    if (result.vulnerabilities && result.vulnerabilities.length) {
      add(details, h("h3", { class: "h-small" }, "Weaknesses"), h("ul", { class: "vuln-list" }, result.vulnerabilities.map((v) => h("li", null, v))));
    }
    const recs = result.recommendations || [];
    if (recs.length) add(details, h("h3", { class: "h-small" }, "Suggestions"), h("ul", { class: "rec-list" }, recs.map((v) => h("li", null, v))));
  }

  function reset() {
    bar.firstChild.style.width = "0%";
    el.dataset.strength = "none";
    label.textContent = "Type a password to see how strong it is.";
    score.textContent = "";
    clear(details);
  }

  async function analyse(password, context) {
    const mine = ++seq;
    if (controller) controller.abort();
    if (!password) {
      reset();
      return;
    }
    controller = new AbortController();
    const ctx = {};
    for (const [k, v] of Object.entries(context || {})) if (v) ctx[k] = v;
    try {
      const result = await post("passwords/analyze", Object.keys(ctx).length ? { password, context: ctx } : { password }, { signal: controller.signal });
      if (mine === seq) paint(result);
    } catch (err) {
      if (err.name === "AbortError" || mine !== seq) return;
      add(clear(details), problemBox(err));
    }
  }

  return { el, analyse, cancel: () => controller && controller.abort(), paint };
}

export async function render(root, ctx) {
  const user = ctx.session.user;
  const meter = strengthMeter();
  const input = h("input", { type: "password", autocomplete: "new-password", spellcheck: "false" });
  const toggle = h("button", { type: "button", class: "btn btn-ghost btn-sm", "aria-pressed": "false" }, "Show");
  toggle.addEventListener("click", () => {
    const on = input.type === "password";
    input.type = on ? "text" : "password";
    toggle.textContent = on ? "Hide" : "Show";
    toggle.setAttribute("aria-pressed", String(on));
  });
  const context = user ? { email: user.email, display_name: user.display_name } : {};
  const analyse = debounce(() => meter.analyse(input.value, context), 300);
  input.addEventListener("input", analyse);
  const analyseField = field("Password to check", input, {
    name: "password",
    hint: "Analysed on our server only: never stored, logged or sent to an AI provider.",
  });
  analyseField.querySelector("label").after(toggle);
  analyseField.classList.add("field-password");

  // Generator
  const style = h("select", null,
    h("option", { value: "passphrase" }, "Passphrase (random words)"),
    h("option", { value: "random" }, "Random characters"),
    h("option", { value: "pin" }, "PIN (digits)"));
  const length = h("input", { type: "number", min: 8, max: 128, value: 20 });
  const words = h("input", { type: "number", min: 3, max: 12, value: 6 });
  const lengthField = field("Length", length, { name: "length", hint: "8–128 characters" });
  const wordsField = field("Words", words, { name: "words", hint: "3–12 words" });
  const syncStyle = () => {
    const pass = style.value === "passphrase";
    wordsField.hidden = !pass;
    lengthField.hidden = pass;
  };
  style.addEventListener("change", syncStyle);
  syncStyle();
  const genBtn = h("button", { type: "submit", class: "btn btn-primary" }, "Generate");
  const output = h("div", { class: "gen-output", "aria-live": "polite" });
  const genForm = h("form", { class: "stack", novalidate: true },
    formAlert(),
    h("div", { class: "row" }, field("Style", style, { name: "style" }), lengthField, wordsField),
    genBtn);

  genForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearProblem(genForm);
    const body = { style: style.value };
    if (style.value === "passphrase") body.words = Number(words.value);
    else body.length = Number(length.value);
    busy(genBtn, true, "Generating…");
    try {
      const g = await post("passwords/generate", body);
      const copy = h("button", { type: "button", class: "btn btn-secondary btn-sm" }, "Copy");
      copy.addEventListener("click", async () => {
        try {
          await navigator.clipboard.writeText(g.password);
          toast("Copied to the clipboard.", "success");
        } catch {
          toast("Copy failed: select the text and copy it yourself.", "error");
        }
      });
      const useIt = h("button", { type: "button", class: "btn btn-ghost btn-sm" }, "Check it above");
      useIt.addEventListener("click", () => {
        input.value = g.password;
        input.type = "text";
        meter.paint(g.security_analysis);
        input.focus();
      });
      add(clear(output), 
        h("div", { class: "gen-result" },
          h("code", { class: "gen-password", "data-testid": "generated-password" }, g.password),
          h("div", { class: "gen-actions" }, copy, useIt)),
        h("p", { class: "muted" },
          `${Math.round(g.entropy_bits)} bits of entropy · memorability ${g.memorability_score}/100 · `
          + `${STRENGTH_LABEL[g.security_analysis?.strength] || ""}`),
        g.alternatives && g.alternatives.length
          ? h("div", null, h("h3", { class: "h-small" }, "Alternatives"), h("ul", { class: "alt-list" }, g.alternatives.map((a) => h("li", null, h("code", null, a)))))
          : null);
    } catch (err) {
      showProblem(genForm, err);
    } finally {
      busy(genBtn, false);
    }
  });

  add(root, 
    pageHeader("Password tools", "Check how strong a password is as you type, or generate a strong one."),
    h("div", { class: "grid-2" },
      h("section", { class: "card", "aria-labelledby": "pw-check-h" },
        h("h2", { id: "pw-check-h" }, "Strength check"),
        h("form", { class: "stack", novalidate: true, onsubmit: (e) => e.preventDefault() }, analyseField),
        meter.el),
      h("section", { class: "card", "aria-labelledby": "pw-gen-h" },
        h("h2", { id: "pw-gen-h" }, "Generator"),
        h("p", { class: "muted" }, "Generated with a cryptographically secure random source."),
        genForm,
        output)),
    user ? null : h("p", { class: "muted" }, h("a", { href: "#/login" }, "Sign in"), " to use the rest of FluentPro."),
  );
  return { cleanup: () => { analyse.cancel(); meter.cancel(); } };
}
