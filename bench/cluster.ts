/**
 * `npm run bench -- cluster`: `fluxguard audit --cluster` against the real control plane of
 * the end-to-end suite (test/e2e/cluster.sh: etcd, kube-apiserver, source- and
 * kustomize-controller), loaded with a multi-tenant fleet: per tenant a Namespace,
 * ServiceAccount, Role, RoleBinding, GitRepository and Kustomization (suspended, so the
 * controllers stay quiet), and ClusterRoleBindings for some. Beside it, in the same run:
 * `kubectl get` of the same kinds in one call, the floor of merely listing them.
 *
 * Needs the e2e binaries cached (`npm run test:e2e` or `bash test/e2e/cluster.sh build`
 * builds them); without them it says so and skips. Knobs: FLUXGUARD_BENCH_TENANTS (default 200),
 * FLUXGUARD_BENCH_RUNS (default 3).
 */
import { spawnSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { E2ECluster } from "../src/e2e/harness.js";
import { mb, median, ms, table, timed } from "./_util.js";

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
const repoRoot = resolve(here, "..", "..");
const CLI = join(repoRoot, "dist", "src", "bin", "fluxguard.js");
const CLUSTER_SH = join(repoRoot, "test", "e2e", "cluster.sh");
const COMPONENTS = "etcd kube-apiserver source-controller kustomize-controller";
const TENANTS = Number(process.env["FLUXGUARD_BENCH_TENANTS"] ?? 200);
const RUNS = Number(process.env["FLUXGUARD_BENCH_RUNS"] ?? 3);

/** Whether every component is already built (a benchmark never starts a half-hour build). */
function cached(): string | null {
  if (spawnSync("go", ["version"], { stdio: "ignore" }).status !== 0) return "Go is not installed";
  const r = spawnSync("bash", [CLUSTER_SH, "build", "--check"], { encoding: "utf8", env: { ...process.env, FLUXGUARD_E2E_COMPONENTS: COMPONENTS } });
  return r.status === 0 ? null : `the control plane is not built (${(r.stderr || r.stdout).trim().split("\n").pop()}); run: bash test/e2e/cluster.sh build`;
}

function fleet(tenants: number, gitUrl: string): string {
  const docs: string[] = [];
  for (let i = 0; i < tenants; i++) {
    const ns = `tenant-${String(i).padStart(3, "0")}`;
    docs.push(
      `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${ns}}`,
      `apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: reconciler, namespace: ${ns}}`,
      `apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: reconciler, namespace: ${ns}}\nrules:\n  - {apiGroups: ["", apps], resources: [configmaps, services, deployments], verbs: ["*"]}`,
      `apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: reconciler, namespace: ${ns}}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reconciler}\nsubjects: [{kind: ServiceAccount, name: reconciler, namespace: ${ns}}]`,
      `apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: apps, namespace: ${ns}}\nspec: {interval: 60m, suspend: true, url: "${gitUrl}/${ns}.git", ref: {branch: main}}`,
      `apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: ${ns}}\nspec: {interval: 60m, suspend: true, path: ./, prune: true, serviceAccountName: ${i % 4 === 0 ? "default" : "reconciler"}, targetNamespace: ${ns}, sourceRef: {kind: GitRepository, name: apps}}`,
    );
    if (i % 10 === 0) {
      docs.push(
        `apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: ${ns}-view}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ${i % 20 === 0 ? "cluster-admin" : "view"}}\nsubjects: [{kind: ServiceAccount, name: reconciler, namespace: ${ns}}]`,
      );
    }
  }
  return docs.join("\n---\n") + "\n";
}

export async function run(): Promise<void> {
  const why = cached();
  if (why) {
    console.log(`skipped: ${why}`);
    return;
  }
  const t0 = performance.now();
  process.env["FLUXGUARD_E2E_COMPONENTS"] ??= COMPONENTS;
  const cluster = E2ECluster.start();
  try {
    console.log(`control plane up in ${ms(performance.now() - t0)} (${COMPONENTS})`);
    const yaml = fleet(TENANTS, cluster.gitUrl);
    const l0 = performance.now();
    cluster.kc(["apply", "--server-side", "-f", "-"], yaml);
    const objects = yaml.split("\n---\n").length;
    console.log(`loaded ${TENANTS} tenants, ${objects} objects, in ${ms(performance.now() - l0)}`);

    const env = { ...process.env, KUBECONFIG: cluster.kubeconfig };
    const audits = [];
    for (let i = 0; i < RUNS; i++) audits.push(await timed(process.execPath, [CLI, "audit", "--cluster", "--format", "json"], { env, timeoutMs: 10 * 60_000 }));
    const last = audits[audits.length - 1]!;
    if (last.status !== 0 && last.status !== 1) throw new Error(`audit --cluster exited ${last.status}: ${last.stderr.slice(-500)}`);
    const report = JSON.parse(last.stdout) as { summary: { objects: number; findings: number }; live?: { identities: unknown[]; secretReaders: string[]; clusterAdminCreators: unknown[] } };
    const kinds = "gitrepositories,kustomizations,ocirepositories,helmrepositories,helmcharts,buckets,clusterroles,clusterrolebindings,roles,rolebindings,networkpolicies,serviceaccounts,namespaces,deployments";
    const gets = [];
    for (let i = 0; i < RUNS; i++) gets.push(await timed("kubectl", ["get", kinds, "-A", "-o", "json"], { env, timeoutMs: 10 * 60_000 }));
    const best = audits.reduce((a, b) => (b.wallMs < a.wallMs ? b : a));
    const bestGet = gets.reduce((a, b) => (b.wallMs < a.wallMs ? b : a));
    const cpu = (t: typeof best): string => (t.userS === null || t.sysS === null ? "-" : ms((t.userS + t.sysS) * 1000));
    console.log(
      `\n${table([
        ["live audit", "wall (best)", "wall (median)", "CPU", "peak RSS", "objects", "findings"],
        [
          "fluxguard audit --cluster --format json",
          ms(best.wallMs),
          ms(median(audits.map((a) => a.wallMs))),
          cpu(best),
          mb(best.maxRssKB),
          String(report.summary.objects),
          String(report.summary.findings),
        ],
        ["kubectl get <the same kinds> -A -o json", ms(bestGet.wallMs), ms(median(gets.map((g) => g.wallMs))), cpu(bestGet), mb(bestGet.maxRssKB), "", ""],
      ])}`,
    );
    const live = report.live;
    if (live) {
      console.log(
        `live analysis: ${live.identities.length} reconciler identities, ${live.secretReaders.length} Flux-Secret readers, ${live.clusterAdminCreators.length} subjects that can create reconcilers running as cluster-admin (each answer a SubjectAccessReview)`,
      );
    }
    console.log(`ratio: fluxguard takes ${(best.wallMs / bestGet.wallMs).toFixed(1)}x the wall time of only listing the objects with kubectl`);
  } finally {
    cluster.stop();
  }
}
