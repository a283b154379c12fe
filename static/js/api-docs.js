// Starts Swagger UI on /docs. A file, not an inline script, so the page keeps the strict CSP.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    dom_id: "#swagger-ui",
    // The validator badge would call validator.swagger.io: wards have no internet access.
    validatorUrl: null,
    deepLinking: true,
  });
});
