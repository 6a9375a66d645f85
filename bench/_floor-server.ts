/**
 * The platform floor for `npm run bench -- webhook`: a bare node:https server with the same TLS
 * settings as `fluxguard webhook serve`, that reads the body, parses the AdmissionReview JSON and
 * answers a fixed allowed AdmissionReview with the request's uid. No rules, no model: what Node,
 * TLS and JSON cost on this machine, which no webhook written for Node can beat.
 *
 * `node _floor-server.js CERT KEY PORT`; prints `ready` once listening. (Not a benchmark module:
 * bench/index.ts skips files starting with "_".)
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:https";

const [cert, key, port] = process.argv.slice(2);
if (!cert || !key || !port) throw new Error("usage: _floor-server.js CERT KEY PORT");
const server = createServer({ cert: readFileSync(cert), key: readFileSync(key), minVersion: "TLSv1.2" }, (req, res) => {
  if (req.method === "GET") {
    res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": 3 }).end("ok\n"); // readiness
    return;
  }
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    let uid = "";
    try {
      const doc = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { request?: { uid?: unknown } };
      uid = typeof doc.request?.uid === "string" ? doc.request.uid : "";
    } catch {
      res.writeHead(400).end();
      return;
    }
    const body = JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response: { uid, allowed: true } });
    res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 30_000;
server.listen(Number(port), "127.0.0.1", () => console.log("ready"));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
