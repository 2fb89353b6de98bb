// Role suggestions while typing a target role: a native <datalist> (announced by screen
// readers, keyboard-friendly, no custom listbox to get wrong) filled from GET /roles.

import { get } from "./api.js";
import { debounce, h, nextId } from "./dom.js";

/**
 * Attach suggestions to a text input. The chosen role's id is kept in
 * `input.dataset.roleId` (empty while the text matches no suggestion exactly).
 * Returns the <datalist> to place next to the input, and a cancel function.
 */
export function roleSuggestions(input) {
  const list = h("datalist", { id: nextId("roles") });
  input.setAttribute("list", list.id);
  input.setAttribute("autocomplete", "off");
  let known = new Map(); // casefolded title -> role_id
  let controller = null;
  const sync = () => {
    input.dataset.roleId = known.get(input.value.trim().toLowerCase()) || "";
  };
  const load = debounce(async () => {
    const text = input.value.trim();
    if (controller) controller.abort();
    controller = new AbortController();
    try {
      const page = await get(`roles?limit=8&q=${encodeURIComponent(text)}`, { signal: controller.signal });
      known = new Map(page.items.map((r) => [r.title.toLowerCase(), r.role_id]));
      list.replaceChildren(...page.items.map((r) => h("option", { value: r.title, label: `${r.family} · ${r.experience_level}` })));
      list.dataset.loaded = text;
      sync();
    } catch {
      /* suggestions are a convenience: typing a title still works without them */
    }
  }, 150);
  input.addEventListener("input", () => {
    sync();
    load();
  });
  input.addEventListener("focus", () => {
    if (!list.children.length) load();
  }, { once: true });
  return { list, cancel: () => { load.cancel(); if (controller) controller.abort(); } };
}
