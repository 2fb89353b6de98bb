// /api/docs: Swagger UI (vendored from the swagger-ui-dist npm package into
// static/vendor/swagger-ui/) over the server's own OpenAPI document. An external file,
// not an inline script, so the strict Content-Security-Policy (script-src 'self') holds.
window.addEventListener("DOMContentLoaded", () => {
  window.ui = SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    // Requests from "Try it out" go to this same server; the session cookie applies.
    withCredentials: true,
    validatorUrl: null, // no call to an outside validator service
  });
});
