/**
 * A self-signed bootstrap for the webhook's serving certificate, for tests and first installs
 * without cert-manager (cert-manager is the way to issue and renew them in a cluster; see the
 * README). The real `openssl` does the work: a CA (ECDSA P-256) and a leaf for the given DNS
 * names and IP addresses, signed by it. Files are written by rename, so a server polling them
 * never reads half a file: `ca.crt`, `ca.key`, `tls.crt`, `tls.key` (the names of a
 * kubernetes.io/tls Secret mounted as a volume).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import { UsageError } from "../core/errors.js";

export interface BootstrapOptions {
  dir: string;
  /** DNS names and IP addresses the leaf is valid for. */
  hosts: string[];
  days?: number;
  /** Reuse ca.crt/ca.key in `dir` when present (a rotation keeps the CA the API server trusts). */
  reuseCa?: boolean;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === "ENOENT") throw new UsageError("openssl is not installed", "install it (Debian: apt-get install openssl), or issue the certificate with cert-manager");
    throw new UsageError(`openssl ${args[0]} failed: ${String(err.stderr ?? err.message).trim().split("\n")[0]}`);
  }
}

/** Writes (or rotates) the certificates; returns the CA bundle in PEM. */
export function bootstrapCertificates(o: BootstrapOptions): { caPem: string; certFile: string; keyFile: string; caFile: string } {
  if (o.hosts.length === 0) throw new UsageError("a serving certificate needs at least one host (--host)");
  mkdirSync(o.dir, { recursive: true });
  const work = mkdtempSync(join(o.dir, ".bootstrap-"));
  const days = String(o.days ?? 365);
  try {
    const caCrt = join(o.dir, "ca.crt");
    const caKey = join(o.dir, "ca.key");
    const haveCa = o.reuseCa !== false && existsSync(caCrt) && existsSync(caKey);
    if (!haveCa) {
      openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"], work);
      openssl(["req", "-x509", "-new", "-key", "ca.key", "-sha256", "-days", String((o.days ?? 365) * 10), "-subj", "/CN=fluxguard-webhook-ca", "-out", "ca.crt"], work);
    }
    const ca = haveCa ? { crt: caCrt, key: caKey } : { crt: join(work, "ca.crt"), key: join(work, "ca.key") };
    const san = o.hosts.map((h) => (isIP(h) ? `IP:${h}` : `DNS:${h}`)).join(",");
    writeFileSync(join(work, "ext.cnf"), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n`);
    openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "tls.key"], work);
    openssl(["req", "-new", "-key", "tls.key", "-subj", `/CN=${o.hosts[0]}`, "-out", "tls.csr"], work);
    openssl(["x509", "-req", "-in", "tls.csr", "-CA", ca.crt, "-CAkey", ca.key, "-CAcreateserial", "-days", days, "-sha256", "-extfile", "ext.cnf", "-out", "tls.crt"], work);
    if (!haveCa) {
      renameSync(join(work, "ca.key"), caKey);
      renameSync(join(work, "ca.crt"), caCrt);
    }
    // Key first, then certificate: a reader that sees the new certificate finds its key.
    renameSync(join(work, "tls.key"), join(o.dir, "tls.key"));
    renameSync(join(work, "tls.crt"), join(o.dir, "tls.crt"));
    return { caPem: readFileSync(caCrt, "utf8"), certFile: join(o.dir, "tls.crt"), keyFile: join(o.dir, "tls.key"), caFile: caCrt };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
