/** Test input: a repository whose names, values and file names try to break out of a report. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A repository whose names, values and file names carry markup, quotes and bidirectional controls. */
export function hostileRepo(root: string): void {
  const evil = "x<script>alert(1)</script>";
  const dir = join(root, "clusters", "prod", `ev"il</style><b>\u202Egpj.yaml`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, `tenant'<img src=x onerror=alert(1)>.yaml`),
    [
      "apiVersion: kustomize.toolkit.fluxcd.io/v1",
      "kind: Kustomization",
      `metadata: {name: "app</style><script>alert(2)</script>", namespace: "team-\u202Eevil"}`,
      `spec: {interval: 10m, path: "./${evil}", prune: true, sourceRef: {kind: GitRepository, name: "src\\"'<>&", namespace: flux-system}}`,
      "---",
      "apiVersion: source.toolkit.fluxcd.io/v1",
      "kind: GitRepository",
      `metadata: {name: "repo<script>", namespace: flux-system}`,
      `spec: {interval: 1m, url: "https://example.com/</style>.git", ref: {branch: "main\u2066"}}`,
      "",
    ].join("\n"),
  );
}

