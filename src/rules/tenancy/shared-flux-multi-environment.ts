import { BRANCH_KINDS } from "../../core/model-kinds.js";
import type { EnvironmentSetting } from "../../core/config.js";
import type { FluxCluster } from "../../core/model.js";
import { defineRule } from "../../core/rule.js";
import { UNATTACHED } from "../../loader/repository.js";

const ENV_WORDS: Record<string, string> = {
  prod: "production",
  production: "production",
  prd: "production",
  staging: "staging",
  stage: "staging",
  stg: "staging",
  dev: "development",
  develop: "development",
  development: "development",
  qa: "qa",
  test: "test",
  testing: "test",
  uat: "uat",
  preprod: "preprod",
  "pre-prod": "preprod",
  sandbox: "sandbox",
};

/** `**` matches any depth, `*` one segment. */
export function globMatch(glob: string, path: string): boolean {
  const re = glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*\*\/?/g, "\u0000")
    .replace(/\*/g, "[^/]*")
    .replace(/\?/g, "[^/]")
    .replace(/\u0000/g, ".*");
  return new RegExp(`^${re}$`).test(path.replace(/^\.\//, ""));
}

function inferFromPath(p: string): string | null {
  for (const seg of p.split("/")) {
    const env = ENV_WORDS[seg.toLowerCase()];
    if (env) return env;
  }
  return null;
}

export function environmentsOf(cluster: FluxCluster, configured: Record<string, EnvironmentSetting>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (env: string, why: string): void => {
    out.set(env, [...(out.get(env) ?? []), why]);
  };
  const names = Object.keys(configured);
  for (const p of cluster.paths) {
    if (names.length) {
      for (const n of names) if (configured[n]!.paths.some((g) => globMatch(g, p))) add(n, `path ${p}`);
    } else {
      const env = inferFromPath(p);
      if (env) add(env, `path ${p}`);
    }
  }
  for (const b of cluster.branches) {
    if (names.length) {
      for (const n of names) if (configured[n]!.branches.includes(b)) add(n, `branch ${b}`);
    } else {
      const env = ENV_WORDS[b.toLowerCase()];
      if (env) add(env, `branch ${b}`);
    }
  }
  return out;
}

export default defineRule({
  meta: {
    id: "shared-flux-multi-environment",
    // cluster.paths and cluster.branches, and the entrypoint it anchors on.
    reads: [...new Set<string>([...BRANCH_KINDS])],
    title: "One Flux instance reconciles more than one environment",
    severity: "medium",
    threats: ["weakness-5-shared-instance"],
    summary: "a cluster's Flux reconciles paths or branches of several environments",
    rationale:
      "When one Flux instance applies both staging and production, a compromise or a bad commit in the less protected environment reaches the more protected one: they share controllers, credentials and cluster-admin. The seed calls for one Flux instance per environment.",
    remediation: {
      text: "Give each environment its own cluster entrypoint and Flux instance; keep each cluster's Kustomizations on its own environment's paths and branch.",
      snippet: `clusters/
  staging/      # Flux on the staging cluster syncs only this
  production/   # Flux on the production cluster syncs only this`,
    },
    references: ["https://fluxcd.io/flux/security/best-practices/"],
    aggregate: true,
  },
  check({ model, config, report }) {
    for (const cluster of model.clusters) {
      if (cluster.id === UNATTACHED) continue;
      const envs = environmentsOf(cluster, config.environments);
      if (envs.size < 2) continue;
      const anchor = cluster.entrypoint ?? cluster.reconcilers[0]?.object;
      if (!anchor) continue;
      const detail = [...envs.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([env, why]) => `${env} (${[...new Set(why)].slice(0, 3).join(", ")})`);
      report({ object: anchor, pointer: "/spec/path", message: `cluster ${cluster.id} reconciles ${envs.size} environments: ${detail.join("; ")}` });
    }
  },
});
