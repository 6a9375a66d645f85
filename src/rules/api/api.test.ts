import assert from "node:assert/strict";
import { test } from "node:test";
import { parseMinor } from "../../core/flux-version.js";
import { ruleFixtureTests } from "../../testing/rule-tester.js";
import { crdFor, FLUX_GROUPS, FLUX_MINOR, groupOf, REMOVED_IN, versionOf } from "./crds.js";

for (const id of ["flux-api-removed", "flux-schema-violation"]) ruleFixtureTests(import.meta.url, id);

test("REMOVED_IN: every entry is a version of a group the Flux CRDs define that they no longer serve, removed by the release the schemas come from, and a group's older versions go no later than its newer ones", () => {
  for (const [apiVersion, release] of Object.entries(REMOVED_IN)) {
    const group = groupOf(apiVersion);
    assert.ok(FLUX_GROUPS.has(group), `${apiVersion}: not a Flux group`);
    for (const kind of ["GitRepository", "Kustomization", "HelmRelease", "ImagePolicy", "Alert", "Receiver"]) {
      const crd = crdFor(apiVersion, kind);
      if (crd) assert.equal(crd.versions[versionOf(apiVersion)], undefined, `${apiVersion} ${kind} is still served by Flux ${FLUX_MINOR}`);
    }
    const r = parseMinor(release)!;
    const now = parseMinor(FLUX_MINOR)!;
    assert.ok(r.major < now.major || (r.major === now.major && r.minor <= now.minor), `${apiVersion} removed in ${release}, after ${FLUX_MINOR}`);
  }
  // Within a group, v1beta1 (v2beta1) is removed no later than v1beta2 (v2beta2).
  const minor = (v: string): number => parseMinor(v)!.minor;
  for (const [older, newer] of [
    ["source.toolkit.fluxcd.io/v1beta1", "source.toolkit.fluxcd.io/v1beta2"],
    ["kustomize.toolkit.fluxcd.io/v1beta1", "kustomize.toolkit.fluxcd.io/v1beta2"],
    ["helm.toolkit.fluxcd.io/v2beta1", "helm.toolkit.fluxcd.io/v2beta2"],
    ["image.toolkit.fluxcd.io/v1beta1", "image.toolkit.fluxcd.io/v1beta2"],
    ["notification.toolkit.fluxcd.io/v1beta1", "notification.toolkit.fluxcd.io/v1beta2"],
  ] as const) {
    assert.ok(REMOVED_IN[older] && REMOVED_IN[newer], `${older} and ${newer} both have a removal release`);
    assert.ok(minor(REMOVED_IN[older]!) <= minor(REMOVED_IN[newer]!), `${older} (${REMOVED_IN[older]}) after ${newer} (${REMOVED_IN[newer]})`);
  }
  // What the release announcements say (fluxcd/website "Upgrade Procedure" of v2.7, v2.8, v2.9).
  assert.deepEqual(
    Object.entries(REMOVED_IN).sort(([a], [b]) => a.localeCompare(b)),
    [
      ["helm.toolkit.fluxcd.io/v2beta1", "v2.7"],
      ["helm.toolkit.fluxcd.io/v2beta2", "v2.8"],
      ["image.toolkit.fluxcd.io/v1beta1", "v2.7"],
      ["image.toolkit.fluxcd.io/v1beta2", "v2.9"],
      ["kustomize.toolkit.fluxcd.io/v1beta1", "v2.7"],
      ["kustomize.toolkit.fluxcd.io/v1beta2", "v2.8"],
      ["notification.toolkit.fluxcd.io/v1beta1", "v2.7"],
      ["notification.toolkit.fluxcd.io/v1beta2", "v2.9"],
      ["source.toolkit.fluxcd.io/v1beta1", "v2.7"],
      ["source.toolkit.fluxcd.io/v1beta2", "v2.8"],
    ],
  );
});
