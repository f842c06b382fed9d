// Swagger UI on /api/docs, drawn from this server's /openapi.json. No request leaves this
// server: the validator badge (an outside service) is off, and "Try it out" sends its
// requests to this server (the description names no other).
(function () {
  "use strict";
  window.whatworksApiDocs = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    validatorUrl: null,
    // deep links put a link inside each operation's toggle button (nested controls a
    // screen reader cannot reach): off
    deepLinking: false,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
  });
}());
