// Kept in a file, not inline, so the page runs under a CSP without 'unsafe-inline' scripts.
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
