/**
 * Git references as Flux resolves them, defined once. Every rule that compares branches, tags
 * or verification modes asks this module instead of reading `spec.ref.*` itself.
 *
 * Followed: source-controller `api/v1/gitrepository_types.go` (GitRepositoryRef: "the order of
 * precedence is: commit, name, semver, tag, branch"; no ref means the `master` branch),
 * `internal/controller/gitrepository_controller.go` (verification modes need a tag checkout),
 * image-automation-controller `docs/spec/v1/imageupdateautomations.md` (checkout and push).
 */
import { asObject, asString } from "./flux.js";
import type { JsonValue } from "./types.js";

/** source-controller's default when a GitRepository names no ref. */
export const DEFAULT_GIT_BRANCH = "master";

/** The one reference a GitRepository (or an ImageUpdateAutomation checkout) resolves to. */
export type GitCheckout =
  /** A branch: its new commits are what Flux applies. `field` says which field named it. */
  | { kind: "branch"; branch: string; field: "branch" | "name" | "default" }
  /** A fixed tag (`ref.tag` or `ref.name: refs/tags/…`). */
  | { kind: "tag"; tag: string; field: "tag" | "name" }
  /** The highest tag in a semver range. */
  | { kind: "semver"; range: string }
  /** One commit (fetched through `branch` when that is set too). */
  | { kind: "commit"; commit: string; branch: string | null }
  /** Another reference (`refs/pull/1/head`, a bare name): neither a branch nor a tag fluxguard can name. */
  | { kind: "ref"; name: string }
  /** The deciding field is a placeholder (`${var}`, `<< inputs.x >>`): unknown until Flux fills it in. */
  | { kind: "unknown"; field: string; value: string };

function templated(v: string): boolean {
  return /\$\{[^}]*\}/.test(v) || /<<[^>]*>>/.test(v);
}

/**
 * Resolves a GitRepositoryRef (`spec.ref` of a GitRepository, `spec.git.checkout.ref` of an
 * ImageUpdateAutomation) by source-controller's precedence: commit > name > semver > tag >
 * branch. `name: refs/heads/X` is branch X and `name: refs/tags/X` is tag X. A missing or
 * empty ref is the default branch (`master`). Never throws.
 */
export function gitCheckout(ref: JsonValue | undefined): GitCheckout {
  const r = asObject(ref) ?? {};
  const field = (k: string): string | undefined => {
    const v = asString(r[k]);
    return v === undefined || v.trim() === "" ? undefined : v.trim();
  };
  const commit = field("commit");
  const name = field("name");
  const semver = field("semver");
  const tag = field("tag");
  const branch = field("branch");
  const decide = (k: string, v: string): GitCheckout | null => (templated(v) ? { kind: "unknown", field: k, value: v } : null);
  if (commit !== undefined) return decide("commit", commit) ?? { kind: "commit", commit, branch: branch ?? null };
  if (name !== undefined) {
    const u = decide("name", name);
    if (u) return u;
    if (name.startsWith("refs/heads/") && name.length > 11) return { kind: "branch", branch: name.slice(11), field: "name" };
    if (name.startsWith("refs/tags/") && name.length > 10) return { kind: "tag", tag: name.slice(10), field: "name" };
    return { kind: "ref", name };
  }
  if (semver !== undefined) return decide("semver", semver) ?? { kind: "semver", range: semver };
  if (tag !== undefined) return decide("tag", tag) ?? { kind: "tag", tag, field: "tag" };
  if (branch !== undefined) return decide("branch", branch) ?? { kind: "branch", branch, field: "branch" };
  return { kind: "branch", branch: DEFAULT_GIT_BRANCH, field: "default" };
}

/** The branch whose new commits Flux applies, or null for a tag, a commit or an unknown ref. */
export function trackedBranch(c: GitCheckout): string | null {
  return c.kind === "branch" ? c.branch : null;
}

/** Whether the checkout is a tag object (what verify modes `Tag` and `TagAndHEAD` check). */
export function checksOutTag(c: GitCheckout): boolean {
  return c.kind === "tag" || c.kind === "semver";
}

/** The checkout in words, for messages: `branch main (ref.name refs/heads/main)`, `tag v1`, `commit 1a2b3c`. */
export function describeCheckout(c: GitCheckout): string {
  switch (c.kind) {
    case "branch":
      return c.field === "name" ? `branch ${c.branch} (ref.name refs/heads/${c.branch})` : c.field === "default" ? `the default branch (${c.branch})` : `branch ${c.branch}`;
    case "tag":
      return c.field === "name" ? `tag ${c.tag} (ref.name refs/tags/${c.tag})` : `tag ${c.tag}`;
    case "semver":
      return `the highest tag in semver range ${c.range}`;
    case "commit":
      return `commit ${c.commit}`;
    case "ref":
      return `ref ${c.name}`;
    case "unknown":
      return `ref.${c.field} ${c.value}`;
  }
}

/**
 * Fields of a GitRepositoryRef that source-controller ignores because a field of higher
 * precedence is set (`ref.tag` next to `ref.name`, `ref.branch` next to `ref.tag`). `commit`
 * with `branch` is not listed: the branch is where the commit is fetched from.
 */
export function shadowedRefFields(ref: JsonValue | undefined): string[] {
  const r = asObject(ref) ?? {};
  const order = ["commit", "name", "semver", "tag", "branch"];
  const set = order.filter((k) => (asString(r[k]) ?? "").trim() !== "");
  if (set.length < 2) return [];
  const [winner, ...rest] = set;
  return winner === "commit" ? rest.filter((k) => k !== "branch") : rest;
}

/** The branch a refspec destination writes (`src:refs/heads/X`, `HEAD:X`, `+a:b`), or null when it is not a branch. */
export function refspecDestinationBranch(refspec: string): string | null {
  const s = refspec.trim().replace(/^\+/, "");
  const dst = s.includes(":") ? s.slice(s.lastIndexOf(":") + 1) : s;
  if (dst === "" || dst === "HEAD") return null;
  if (dst.startsWith("refs/heads/")) return dst.slice(11) || null;
  if (dst.startsWith("refs/")) return null; // refs/for/main (Gerrit review), refs/tags/…: not a branch
  return dst;
}

/** One branch an ImageUpdateAutomation pushes its commits to, and the field that sends them there. */
export interface PushDestination {
  branch: string;
  /** `push.branch`, the checkout branch (no `push.branch`), or a `push.refspec` destination. */
  via: "push.branch" | "checkout" | "refspec";
  /** JSON pointer into the ImageUpdateAutomation. */
  pointer: string;
}

/** Where an ImageUpdateAutomation checks out and writes. */
export interface AutomationPushes {
  /** `spec.git.checkout.ref`, or the GitRepository's `spec.ref` when the automation names none. */
  checkout: GitCheckout;
  destinations: PushDestination[];
  /** A deciding field is a placeholder: the destinations are incomplete. */
  unknown: boolean;
}

/**
 * Every branch an ImageUpdateAutomation writes (image-automation-controller): `push.branch`
 * when set, otherwise the checkout branch, and that even when `push.refspec` is set; plus the
 * destination of `push.refspec`. `iuaSpec` is the automation's `spec`; `sourceRef` the
 * GitRepository's `spec.ref` (undefined when the source is not in the model).
 */
export function automationPushes(iuaSpec: JsonValue | undefined, sourceRef: JsonValue | undefined): AutomationPushes {
  const git = asObject(asObject(iuaSpec)?.["git"]) ?? {};
  const checkoutRef = asObject(asObject(git["checkout"])?.["ref"]);
  const checkout = gitCheckout(checkoutRef ?? sourceRef);
  const push = asObject(git["push"]);
  const pushBranch = asString(push?.["branch"])?.trim() || undefined;
  const refspec = asString(push?.["refspec"])?.trim() || undefined;
  const destinations: PushDestination[] = [];
  let unknown = checkout.kind === "unknown";
  if (pushBranch !== undefined) {
    if (templated(pushBranch)) unknown = true;
    else destinations.push({ branch: pushBranch, via: "push.branch", pointer: "/spec/git/push/branch" });
  } else if (checkout.kind === "branch") {
    destinations.push({ branch: checkout.branch, via: "checkout", pointer: push ? "/spec/git/push" : "/spec/git" });
  }
  if (refspec !== undefined) {
    if (templated(refspec)) unknown = true;
    else {
      const b = refspecDestinationBranch(refspec);
      if (b !== null && !destinations.some((d) => d.branch === b)) destinations.push({ branch: b, via: "refspec", pointer: "/spec/git/push/refspec" });
    }
  }
  return { checkout, destinations, unknown };
}
