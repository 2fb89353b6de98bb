// Elements that stick out of the viewport sideways (clipped, or forcing a sideways
// scroll). Tables scroll inside their own wrapper on purpose and are left out.
() => {
  const vw = document.documentElement.clientWidth;
  const out = [];
  if (document.documentElement.scrollWidth > vw + 1) {
    out.push(`page scrolls sideways: ${document.documentElement.scrollWidth} > ${vw}`);
  }
  for (const el of document.querySelectorAll("main *, header *, nav *")) {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height) continue;
    if (getComputedStyle(el).visibility === "hidden") continue;
    if (el.closest(".table-wrap, .sr-only, canvas")) continue;
    if (r.right > vw + 1 || r.left < -1) {
      const name = `${el.tagName.toLowerCase()}.${el.className}`;
      out.push(`${name}: ${Math.round(r.left)}..${Math.round(r.right)} of ${vw}`);
    }
  }
  return out.slice(0, 10);
}
