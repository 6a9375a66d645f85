/**
 * Raw requests to a test API server (the e2e suite and the webhook benchmark): the address, token
 * and CA from an e2e cluster's kubeconfig, and a POST that reports status, body and wall time.
 * (kubectl is used everywhere else; these are for streams of requests kubectl is too slow for.)
 */
import { readFileSync } from "node:fs";
import { request, type Agent } from "node:https";
import { parse } from "yaml";

export interface TestApi {
  server: string;
  token: string;
  /** The cluster's CA certificate, PEM. */
  ca: string;
}

/** The first cluster and user of a kubeconfig written by test/e2e/cluster.sh (token auth, CA data inline). */
export function testApiOf(kubeconfig: string): TestApi {
  const kc = parse(readFileSync(kubeconfig, "utf8")) as { clusters: Array<{ cluster: { server: string; "certificate-authority-data": string } }>; users: Array<{ user: { token: string } }> };
  return { server: kc.clusters[0]!.cluster.server, token: kc.users[0]!.user.token, ca: Buffer.from(kc.clusters[0]!.cluster["certificate-authority-data"], "base64").toString() };
}

/** One JSON POST to the API server; resolves with the status code, the body and the wall time in ms. */
export function testApiPost(api: TestApi, path: string, body: unknown, agent: Agent): Promise<{ status: number; body: string; ms: number }> {
  const u = new URL(api.server);
  const data = JSON.stringify(body);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, path, method: "POST", ca: api.ca, agent, headers: { Authorization: `Bearer ${api.token}`, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), ms: performance.now() - t0 }));
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}
