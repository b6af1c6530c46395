// Verifies Standard Webhooks signatures with the spec's own npm package
// (standardwebhooks), independently of the Go code that signed them. It
// reads one JSON request per line on stdin: {"secret", "headers", "body"},
// and answers one JSON line per request: {"ok": true} or {"ok": false,
// "error": "..."}. NODE_PATH points at the node_modules the test installed.
"use strict";

const { Webhook } = require("standardwebhooks");
const readline = require("node:readline");

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
  let answer;
  try {
    const req = JSON.parse(line);
    const payload = new Webhook(req.secret).verify(req.body, req.headers);
    answer = { ok: true, type: payload && payload.type };
  } catch (e) {
    answer = { ok: false, error: String((e && e.message) || e) };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
});
