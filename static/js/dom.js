// Small DOM helpers: element builder, toasts, problem-detail rendering, formatting.

/**
 * h("div", {class: "card", onclick: fn, dataset: {id: 1}}, child, "text", [more])
 * Attributes become properties or attributes; children may be nodes, strings, arrays, null.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") el.className = value;
      else if (key === "dataset") Object.assign(el.dataset, value);
      else if (key === "text") el.textContent = value;
      else if (key.startsWith("on") && typeof value === "function") {
        el.addEventListener(key.slice(2), value);
      } else if (value === true) el.setAttribute(key, "");
      else el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

let uid = 0;
export const nextId = (prefix = "f") => `${prefix}-${++uid}`;

/** A labelled form field. `input` is an element; returns the wrapper. */
export function field(label, input, { hint, name } = {}) {
  const id = input.id || nextId(name || "field");
  input.id = id;
  if (name) input.name = name;
  const hintEl = hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute("aria-describedby", hintEl.id);
  const errEl = h("p", { class: "field-error", id: `${id}-error`, hidden: true });
  return h("div", { class: "field", dataset: { field: name || "" } }, h("label", { for: id }, label), input, hintEl, errEl);
}

// HTTP reason phrases ("Unprocessable Content") are not words people use: every
// message shown comes from here, in plain language, one per problem.
const PLAIN = {
  0: "We can't reach FluentPro right now. Check your connection and try again.",
  400: "That request could not be read. Reload the page and try again.",
  403: "You don't have access to this.",
  404: "We couldn't find that. It may have been deleted.",
  413: "That is too much text to send at once.",
  429: "Too many attempts in a short time.",
  500: "Something went wrong on our side. Please try again in a moment.",
  503: "This is briefly unavailable. Please try again in a moment.",
};

/** One plain sentence for an error (never an HTTP reason phrase). */
export function plainMessage(error) {
  const status = error ? error.status : 0;
  const detail = error && error.detail ? String(error.detail) : "";
  let text;
  if (status === 0 || status >= 500) text = PLAIN[status === 503 ? 503 : status === 0 ? 0 : 500];
  else if (status === 429) text = PLAIN[429];
  else if (detail && !/^(validation failed|invalid|bad request)\.?$/i.test(detail)) text = detail;
  else text = PLAIN[status] || "That didn't work. Please check and try again.";
  const after = error && error.retryAfter;
  if ((status === 429 || status === 503) && after) text += ` Try again in ${after} s.`;
  return text;
}

/** Show an ApiError on a form: one message per problem. Field errors sit next to their
 * input (the first reason only: one weak password is one problem); anything else goes in
 * the form's alert. Each message clears as soon as its input changes. */
export function showProblem(form, error) {
  clearProblem(form);
  const alert = form.querySelector(".form-alert");
  const flat = flattenErrors((error && error.errors) || {});
  const unplaced = [];
  for (const [name, messages] of flat) {
    const wrap = form.querySelector(`[data-field="${cssEscape(name)}"]`)
      || form.querySelector(`[data-field="${cssEscape(name.split(".")[0])}"]`);
    if (wrap) {
      markField(wrap, messages[0]);
    } else {
      unplaced.push(messages[0]);
    }
  }
  const placed = form.querySelector("[aria-invalid=true]");
  if (alert && (unplaced.length || !placed)) {
    clear(alert);
    alert.append(h("p", { class: "alert-text" }, unplaced.length && !placed && flat.length ? unplaced[0] : plainMessage(error)));
    alert.hidden = false;
    alert.focus();
  } else if (placed) {
    placed.focus();
  }
  if (!form.dataset.clearsOnInput) {
    form.dataset.clearsOnInput = "1";
    const onEdit = (ev) => {
      const wrap = ev.target.closest && ev.target.closest(".field");
      if (wrap) unmarkField(wrap);
      const a = form.querySelector(".form-alert");
      if (a && !a.hidden) {
        a.hidden = true;
        clear(a);
      }
    };
    form.addEventListener("input", onEdit);
    form.addEventListener("change", onEdit);
  }
}

function markField(wrap, message) {
  const errEl = wrap.querySelector(".field-error");
  const input = wrap.querySelector("input, select, textarea");
  if (!errEl) return;
  errEl.textContent = message;
  errEl.hidden = false;
  if (input) {
    input.setAttribute("aria-invalid", "true");
    const described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (!described.includes(errEl.id)) described.push(errEl.id);
    input.setAttribute("aria-describedby", described.join(" "));
  }
}

function unmarkField(wrap) {
  const errEl = wrap.querySelector(".field-error");
  if (errEl) {
    errEl.hidden = true;
    errEl.textContent = "";
  }
  for (const el of wrap.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

export function clearProblem(form) {
  const alert = form.querySelector(".form-alert");
  if (alert) {
    alert.hidden = true;
    clear(alert);
  }
  for (const wrap of form.querySelectorAll(".field")) unmarkField(wrap);
}

function flattenErrors(errors, prefix = "") {
  const out = [];
  if (Array.isArray(errors)) {
    if (errors.every((e) => typeof e === "string")) out.push([prefix || "form", errors]);
    else errors.forEach((e, i) => out.push(...flattenErrors(e, prefix ? `${prefix}.${i}` : String(i))));
  } else if (errors && typeof errors === "object") {
    for (const [k, v] of Object.entries(errors)) out.push(...flattenErrors(v, prefix ? `${prefix}.${k}` : k));
  } else if (errors) {
    out.push([prefix || "form", [String(errors)]]);
  }
  return out;
}

function cssEscape(s) {
  return window.CSS && CSS.escape ? CSS.escape(s) : s.replace(/["\\]/g, "\\$&");
}

/** An empty alert box for a form (filled by showProblem). */
export const formAlert = () => h("div", { class: "form-alert alert alert-error", role: "alert", tabindex: "-1", hidden: true });

/** A problem box outside a form: one plain sentence. */
export function problemBox(error) {
  return h("div", { class: "alert alert-error", role: "alert" }, h("p", { class: "alert-text" }, plainMessage(error)));
}

export function toast(message, kind = "info", ms = 4500) {
  const host = document.getElementById("toasts");
  if (!host) return;
  const el = h("div", { class: `toast toast-${kind}` }, message);
  host.append(el);
  setTimeout(() => el.classList.add("toast-out"), ms - 300);
  setTimeout(() => el.remove(), ms);
}

export function busy(button, on, label) {
  if (!button) return;
  const isButton = button.tagName === "BUTTON";
  if (on) {
    if (isButton) button.dataset.label = button.textContent;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    if (label && isButton) button.textContent = label;
  } else {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    if (isButton && button.dataset.label) button.textContent = button.dataset.label;
  }
}

export const sourceLabel = { ai: "AI", cache: "Cached AI answer", local: "Local engine" };

export function sourceBadge(source) {
  const s = source || "local";
  return h("span", { class: `badge badge-source badge-${s}`, title: `Answer source: ${sourceLabel[s] || s}`, dataset: { source: s } },
    `Source: ${sourceLabel[s] || s}`);
}

export function chips(items, cls = "chip") {
  return h("ul", { class: "chips" }, (items || []).map((s) => h("li", { class: cls }, s)));
}

export function scoreRing(score, label = "match") {
  const value = Math.max(0, Math.min(100, Math.round(Number(score) || 0)));
  const ring = h("div", { class: "score", role: "img", "aria-label": `${value} out of 100 ${label}` },
    h("span", { class: "score-value" }, String(value)), h("span", { class: "score-unit" }, label));
  ring.style.setProperty("--score", String(value));
  ring.dataset.level = value >= 70 ? "high" : value >= 45 ? "mid" : "low";
  return ring;
}

export function formatDate(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function formatDay(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleDateString(undefined, { dateStyle: "medium" });
}

export function debounce(fn, ms) {
  let t = null;
  const wrapped = (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(t);
  return wrapped;
}

export function pageHeader(title, subtitle, ...actions) {
  return h("header", { class: "page-header" },
    h("div", null, h("h1", { id: "page-title", tabindex: "-1" }, title), subtitle ? h("p", { class: "lead" }, subtitle) : null),
    actions.length ? h("div", { class: "page-actions" }, actions) : null);
}

export function humanize(key) {
  return String(key || "").replace(/_/g, " ").replace(/^\w/, (c) => c.toUpperCase());
}

/** el.append(...) that skips null/undefined/false children (native append prints "null"). */
export const add = (el, ...children) => append(el, children);

/**
 * A modal confirmation (native <dialog>: focus trapped, Escape cancels). `extra` is an
 * optional field element shown in the dialog; `check()` may return an error message that
 * keeps the dialog open. Resolves true when confirmed, false when cancelled.
 */
export function confirmDialog({ title, text, confirmLabel, dismissLabel = "Cancel", danger = false, extra = null, check = null }) {
  return new Promise((resolve) => {
    const headingId = nextId("dlg");
    const error = h("p", { class: "field-error", role: "alert", hidden: true });
    const ok = h("button", { type: "submit", class: `btn ${danger ? "btn-danger" : "btn-primary"}` }, confirmLabel);
    const cancel = h("button", { type: "button", class: "btn btn-ghost" }, dismissLabel);
    const form = h("form", { method: "dialog", class: "stack" },
      h("h2", { id: headingId }, title),
      h("p", null, text),
      extra,
      error,
      h("div", { class: "form-actions" }, cancel, ok));
    const dlg = h("dialog", { class: "confirm", "aria-labelledby": headingId }, form);
    let settled = false;
    const done = (value) => {
      if (settled) return;
      settled = true;
      dlg.close();
      dlg.remove();
      resolve(value);
    };
    cancel.addEventListener("click", () => done(false));
    dlg.addEventListener("cancel", () => done(false));
    form.addEventListener("input", () => { error.hidden = true; });
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const problem = check ? await check() : null;
      if (problem) {
        error.textContent = problem;
        error.hidden = false;
        return;
      }
      done(true);
    });
    document.body.append(dlg);
    dlg.showModal();
    (extra && extra.querySelector ? extra.querySelector("input") : null)?.focus();
  });
}
