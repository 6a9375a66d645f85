import { SOURCE_USER_KINDS } from "../../core/model-kinds.js";
import { GROUP, isHelmRelease, path, str } from "../../core/flux.js";
import type { ModelObject } from "../../core/model.js";
import { defineRule } from "../../core/rule.js";
import { checkBoundedRange } from "../../generate/semver.js";
import { auditedObjects, describe, isFluxKind, isTemplated, refKey } from "../util.js";
import { usersOf } from "../source/usage.js";

/** Why a chart version constraint does not pin the chart, or null. */
function unpinned(version: string | undefined): string | null {
  if (version === undefined) return "has no version, so Flux installs the latest chart";
  if (isTemplated(version)) return null;
  return checkBoundedRange(version).ok ? null : `version '${version}' has no upper bound, so any future release installs`;
}

/** Why an OCIRepository ref tracks a moving target, or null. */
function movingRef(m: ModelObject): string | null {
  const ref = path(m.object, "spec", "ref");
  if (str(ref, "digest")) return null;
  const semver = str(ref, "semver");
  if (semver !== undefined) return isTemplated(semver) || checkBoundedRange(semver).ok ? null : `ref.semver '${semver}' has no upper bound`;
  const tag = str(ref, "tag");
  if (tag === undefined) return "has no ref, so it tracks latest";
  return tag === "latest" ? "tracks the tag latest" : null;
}

export default defineRule({
  meta: {
    id: "helmrelease-unpinned-chart",
    title: "Helm chart that is not pinned",
    severity: "medium",
    severityVaries: "medium for a chart source a HelmRelease installs; low for other sources whose content moves without a commit",
    threats: ["adversary-4-helm-values-injection", "adversary-1-malicious-commit"],
    summary: "a chart version that is missing, `*`, `x` or a range without an upper bound, or an OCIRepository serving a chart that tracks `latest`",
    rationale:
      "With an open version, what runs is decided by whoever publishes the next chart, not by a reviewed commit: a compromised or careless upstream release rolls out to every cluster on the next interval. A bounded range (`>=1.0.0 <2.0.0`, `^1.4`) takes patches without taking majors; an exact version or a digest changes only through Git.",
    remediation: {
      text: "Pin an exact version (or a digest), or at least bound the range; for OCIRepository use `ref.tag` with a version, `ref.semver` with a ceiling, or `ref.digest`.",
      snippet: `spec:
  chart:
    spec:
      chart: payments-api
      version: "1.4.2"          # or ">=1.4.0 <1.5.0"
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
spec:
  ref:
    semver: ">=1.0.0 <2.0.0"   # or digest: sha256:...`,
    },
    references: ["https://fluxcd.io/flux/components/helm/helmreleases/#chart-template", "https://fluxcd.io/flux/components/source/ocirepositories/#reference", "https://github.com/Masterminds/semver#checking-version-constraints"],
    reads: [...new Set<string>(["HelmRelease", "HelmChart", "HelmRepository", "OCIRepository", ...SOURCE_USER_KINDS])],
  },
  check({ model, report }) {
    const objects = auditedObjects(model);
    for (const m of objects) {
      if (isHelmRelease(m.object)) {
        const chart = path(m.object, "spec", "chart", "spec");
        if (chart === undefined) continue;
        const srcKey = refKey(path(chart, "sourceRef"), m.object.metadata.namespace ?? "default");
        // A chart from Git or a Bucket is a path: its version comes with the source revision.
        if (srcKey && !srcKey.startsWith("HelmRepository/")) continue;
        const why = unpinned(str(chart, "version"));
        if (why) report({ object: m, pointer: str(chart, "version") === undefined ? "/spec/chart/spec" : "/spec/chart/spec/version", message: `${describe(m)}: chart ${str(chart, "chart") ?? "?"} ${why}` });
      } else if (isFluxKind(m, GROUP.source, "HelmChart")) {
        const src = str(m.object, "spec", "sourceRef", "kind");
        if (src !== undefined && src !== "HelmRepository") continue;
        const why = unpinned(str(m.object, "spec", "version"));
        if (why) report({ object: m, pointer: str(m.object, "spec", "version") === undefined ? "/spec" : "/spec/version", message: `${describe(m)}: chart ${str(m.object, "spec", "chart") ?? "?"} ${why}` });
      } else if (isFluxKind(m, GROUP.source, "OCIRepository")) {
        const why = movingRef(m);
        if (!why) continue;
        const charts = usersOf(model, m).helmReleases;
        const isChart = charts.length > 0 || /helm\.chart/.test(str(m.object, "spec", "layerSelector", "mediaType") ?? "");
        // An OCI artifact of manifests that a Kustomization applies (a fleet's own sync artifact,
        // re-pushed by CI) tracking `latest` is the OCI form of a GitRepository tracking a
        // branch: what it applies changes with what CI pushes, as a branch changes with commits.
        // Whether that push is trusted is ocirepository-unverified's question, not a pin.
        if (!isChart) continue;
        report({
          object: m,
          pointer: path(m.object, "spec", "ref") === undefined ? "/spec" : "/spec/ref",
          message: `${describe(m)} ${why}: the chart ${charts.length ? `that ${describe(charts[0]!)} installs ` : ""}changes without a commit`,
        });
      }
    }
  },
});
