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

/** Show an ApiError on a form: the detail in the form's alert, per-field errors next to inputs. */
export function showProblem(form, error) {
  clearProblem(form);
  const alert = form.querySelector(".form-alert");
  const errors = (error && error.errors) || {};
  const flat = flattenErrors(errors);
  const unplaced = [];
  for (const [name, messages] of flat) {
    const wrap = form.querySelector(`[data-field="${cssEscape(name)}"]`)
      || form.querySelector(`[data-field="${cssEscape(name.split(".").pop())}"]`);
    if (wrap) {
      const errEl = wrap.querySelector(".field-error");
      const input = wrap.querySelector("input, select, textarea");
      errEl.textContent = messages.join(" ");
      errEl.hidden = false;
      if (input) {
        input.setAttribute("aria-invalid", "true");
        const described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
        if (!described.includes(errEl.id)) described.push(errEl.id);
        input.setAttribute("aria-describedby", described.join(" "));
      }
    } else {
      unplaced.push(`${name}: ${messages.join(" ")}`);
    }
  }
  if (alert) {
    clear(alert);
    alert.append(h("strong", null, (error && error.title) || "Something went wrong"));
    if (error && error.detail) alert.append(h("span", null, ` ${error.detail}`));
    if (unplaced.length) alert.append(h("ul", null, unplaced.map((m) => h("li", null, m))));
    alert.hidden = false;
    alert.focus();
  }
  const firstInvalid = form.querySelector("[aria-invalid=true]");
  if (firstInvalid && !alert) firstInvalid.focus();
}

export function clearProblem(form) {
  const alert = form.querySelector(".form-alert");
  if (alert) {
    alert.hidden = true;
    clear(alert);
  }
  for (const el of form.querySelectorAll(".field-error")) {
    el.hidden = true;
    el.textContent = "";
  }
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
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

/** A problem box outside a form. */
export function problemBox(error) {
  const box = h("div", { class: "alert alert-error", role: "alert" },
    h("strong", null, (error && error.title) || "Something went wrong"),
    error && error.detail ? ` ${error.detail}` : "");
  const flat = flattenErrors((error && error.errors) || {});
  if (flat.length) box.append(h("ul", null, flat.map(([k, m]) => h("li", null, `${k}: ${m.join(" ")}`))));
  return box;
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
