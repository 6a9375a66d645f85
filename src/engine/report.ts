/** The audit report: the JSON schema (schemas/audit-report.schema.json) in TypeScript. */
import type { NotAssessedReason } from "../core/coverage.js";
import type { RenderNote } from "../core/model.js";
import type { LiveAnalysis } from "./live.js";
import type { RootCause } from "./root-causes.js";
import type { ResourceRef, Severity, SourceLocation, Threat } from "../core/types.js";

export const REPORT_SCHEMA_VERSION = "1.1";

export interface Finding {
  ruleId: string;
  severity: Severity;
  title: string;
  message: string;
  resource: ResourceRef | null;
  location: SourceLocation | null;
  /** JSON pointer into the resource, when the finding is about a field. */
  pointer: string | null;
  threats: Threat[];
  remediation: string;
  suppressed: boolean;
  /** Why, when suppressed. */
  suppression: { kind: "annotation" | "config"; reason: string } | null;
  /** Stable across runs and unrelated edits (rule, resource, pointer, file). */
  fingerprint: string;
  /** Where the object came from: its cluster and the Flux Kustomizations that render it. */
  context: { clusters: string[]; renderedBy: string[] };
  /** The id of the root cause (`rootCauses[].id`) it belongs to; null when suppressed. */
  rootCause: string | null;
  /** With `--baseline`: whether the baseline report had a finding with this fingerprint. */
  baselineState?: "new" | "unchanged";
}

/** With `--baseline FILE`: this report compared with an earlier one, by fingerprint. */
export interface BaselineComparison {
  /** The baseline file as given on the command line. */
  file: string;
  /** Findings (not suppressed) the baseline does not have. */
  new: number;
  /** Findings (not suppressed) the baseline has too. */
  unchanged: number;
  /** The baseline's findings this report no longer has (fixed or removed), as the baseline recorded them. */
  absent: Finding[];
}

/**
 * `exposed`: findings; `defended`: positive evidence for every relevant object and nothing
 * relevant unseen; `not-assessed`: relevant content not seen or evidence missing;
 * `not-applicable`: the threat cannot arise (src/engine/posture.ts).
 */
export type PostureVerdict = "defended" | "exposed" | "not-assessed" | "not-applicable";

export interface PostureEntry {
  id: string;
  threat: string;
  expected: string;
  verdict: PostureVerdict;
  because: string;
  findings: string[];
  /** What this row could not see (src/core/coverage.ts), whatever the verdict. */
  notAssessed: Array<{ reason: NotAssessedReason; what: string; file: string | null }>;
  /**
   * The same row for each cluster on its own (its objects, reconcilers and findings; every
   * unseen gap counts against each cluster). Absent when the target has no cluster.
   */
  clusters?: Array<{ cluster: string; verdict: PostureVerdict; because: string }>;
}

export interface AuditReport {
  schemaVersion: string;
  tool: { name: "fluxguard"; version: string };
  target: { kind: "directory" | "cluster"; path: string };
  summary: {
    findings: number;
    suppressed: number;
    bySeverity: Record<Severity, number>;
    objects: number;
    files: number;
    clusters: string[];
    failOn: Severity;
    failed: boolean;
    /**
     * Present in untrusted mode: the repository's own config (or null), the settings of it that
     * were ignored, and `suppressionsCount: false` (in-source suppressions do not pass the run).
     */
    untrusted?: { repositoryConfig: string | null; ignored: string[]; suppressionsCount: false };
    /** What the audit assumed where the repository (or cluster) did not say, stated once. */
    assumptions: string[];
  };
  findings: Finding[];
  /** The findings grouped by the one fact behind them, most severe and widest first. */
  rootCauses: RootCause[];
  posture: PostureEntry[];
  rendering: {
    kustomize: string | null;
    /** `flux-operator <version>`, or null when ResourceSets could not be expanded; absent without ResourceSets. */
    fluxOperator?: string | null;
    /**
     * Each FluxInstance: `renderedBy` is the CLI that rendered its controllers (`flux-operator
     * 0.59.0`), or null when their arguments were inferred from `spec.cluster` (`problem` says
     * why). Absent when the target holds no FluxInstance.
     */
    fluxInstances?: Array<{ instance: string; file: string | null; renderedBy: string | null; problem: string | null }>;
    reconcilers: RenderNote[];
  };
  /** Files skipped (`warn`: size, binary, symlinks) and documents ignored (`verbose`: not objects, chart templates). */
  notices: Array<{ file: string; reason: string; level: "warn" | "verbose" }>;
  /** Set when the target holds no Kubernetes objects. */
  empty: boolean;
  /** Set by `--baseline`: which findings are new. `summary.failed` then counts new findings only. */
  baseline?: BaselineComparison;
  /** `audit --cluster` only: the API server's own answers about who can do what. */
  live?: LiveAnalysis;
}
