/**
 * The one door to `@kubernetes/client-node`. Version 2 of the client sends its requests
 * through undici 8, which needs Node.js >= 22.19 (it reads `zlib.createZstdDecompress`, absent
 * from Node 20, at import time). fluxguard talks to clusters through loader/kube-http.ts, so
 * the library is imported only here, only for what needs it (kubeconfig `exec` and
 * `auth-provider` users, proxies, the webhook's informers), and an older Node gets one clear
 * error at that moment instead of a crash inside undici.
 */
import type * as KubeClient from "@kubernetes/client-node";
import { UsageError } from "../core/errors.js";

/** The oldest Node.js the cluster client runs on, as [major, minor]. */
export const KUBE_CLIENT_MIN_NODE: readonly [number, number] = [22, 19];

/** Whether `version` (as in `process.versions.node`, "20.20.2") is at least [major, minor]. */
export function nodeAtLeast(version: string, [major, minor]: readonly [number, number]): boolean {
  const [ma = 0, mi = 0] = version.split(".").map(Number);
  return ma > major || (ma === major && mi >= minor);
}

/**
 * Imports the Kubernetes client. Throws a UsageError (exit 2, `fluxguard: ...` and a hint)
 * on a Node.js older than KUBE_CLIENT_MIN_NODE; `what` names the command that needs it.
 */
export async function importKubeClient(what = "audit --cluster"): Promise<typeof KubeClient> {
  if (!nodeAtLeast(process.versions.node, KUBE_CLIENT_MIN_NODE)) {
    throw new UsageError(
      `${what} needs Node.js >= ${KUBE_CLIENT_MIN_NODE.join(".")} (the Kubernetes client's HTTP library requires it); this is Node.js ${process.version}`,
      "run it with Node 24 LTS; every other command works on this Node, audit --cluster and monitor too with a token or certificate kubeconfig",
    );
  }
  return import("@kubernetes/client-node");
}
