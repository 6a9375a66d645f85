/**
 * A TLS server on a free loopback port that a test makes answer like a Kubernetes API server,
 * with certificates from the real openssl (webhook/certs.ts) and a KubeEndpoint that trusts it.
 * For what a real kube-apiserver will not do on demand (malformed watch lines, silent
 * servers, chosen Status errors); the real one runs in the e2e suite.
 */
import { after } from "node:test";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bootstrapCertificates } from "../webhook/certs.js";
import type { KubeEndpoint } from "../loader/kubeconfig.js";

export interface TlsApiServer {
  server: Server;
  port: number;
  /** `https://127.0.0.1:<port>` */
  url: string;
  /** The CA that signed the server's certificate (PEM). */
  caPem: string;
  /** The server's certificate and key files (a client certificate the CA also signed). */
  certFile: string;
  keyFile: string;
  /** An endpoint that trusts the server's CA, with a bearer token `t`; `extra` overrides. */
  endpoint(extra?: Partial<KubeEndpoint>): KubeEndpoint;
}

/**
 * Starts the server; `handle` answers every request. With `requestCert`, clients may present
 * a certificate (not required). Responses still open when the test file ends are destroyed and
 * the server closed (node:test `after`).
 */
export async function startTlsApiServer(handle: (req: IncomingMessage, res: ServerResponse) => void, opts: { requestCert?: boolean; hosts?: string[] } = {}): Promise<TlsApiServer> {
  const dir = mkdtempSync(join(tmpdir(), "fluxguard-tls-api-"));
  const certs = bootstrapCertificates({ dir, hosts: opts.hosts ?? ["127.0.0.1", "localhost"] });
  const open = new Set<ServerResponse>();
  const server = createServer({ cert: readFileSync(certs.certFile), key: readFileSync(certs.keyFile), ...(opts.requestCert ? { ca: certs.caPem, requestCert: true, rejectUnauthorized: false } : {}) }, (req, res) => {
    open.add(res);
    res.on("close", () => open.delete(res));
    handle(req, res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  after(() => {
    for (const r of open) r.destroy();
    server.close();
  });
  const url = `https://127.0.0.1:${port}`;
  return {
    server,
    port,
    url,
    caPem: certs.caPem,
    certFile: certs.certFile,
    keyFile: certs.keyFile,
    endpoint: (extra = {}) => ({ context: "test", server: url, ca: Buffer.from(certs.caPem), verifyTls: true, token: "t", ...extra }),
  };
}
