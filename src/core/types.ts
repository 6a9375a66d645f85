/**
 * Core vocabulary shared by the loader, the rules, the formatters and every command.
 * Nothing here does I/O.
 */

export const SEVERITIES = ["critical", "high", "medium", "low", "info"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Higher is more severe. */
export function severityRank(s: Severity): number {
  return SEVERITIES.length - SEVERITIES.indexOf(s);
}

export function isSeverity(v: unknown): v is Severity {
  return typeof v === "string" && (SEVERITIES as readonly string[]).includes(v);
}

/** The seed document's threats (CONVENTIONS.md). */
export const THREATS = [
  "adversary-1-malicious-commit",
  "adversary-2-credential-exfiltration",
  "adversary-3-kustomization-escalation",
  "adversary-4-helm-values-injection",
  "adversary-5-image-automation",
  "weakness-1-cluster-admin",
  "weakness-2-unverified-commits",
  "weakness-3-git-credentials",
  "weakness-4-unscoped-kustomization",
  "weakness-5-shared-instance",
  "weakness-6-no-alerting",
] as const;
export type Threat = (typeof THREATS)[number];

/** A plain JSON value as parsed from YAML. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** A Kubernetes object as plain data. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: JsonValue | undefined;
  };
  [key: string]: JsonValue | undefined | K8sObject["metadata"];
}

/** A reference to an object, as findings print it. */
export interface ResourceRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string | null;
}

export interface SourceLocation {
  /** Path relative to the scan root, with forward slashes. */
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
}
