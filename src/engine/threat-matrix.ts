/**
 * The threat matrix: the seed's eleven threats (five adversaries, six weaknesses) against each
 * cluster. It adds no verdict logic of its own; it reads two things the report already holds:
 * - findings: a cell is `exposed` when a finding at medium or above, tagged with the threat,
 *   belongs to the cluster (the same bar the posture table uses);
 * - the posture table (src/engine/posture.ts), each row as evaluated for that cluster on its own
 *   (`PostureEntry.clusters`; the fleet-wide row for the `(no cluster)` column): otherwise a
 *   cell takes the posture rows whose rules guard the threat: `not-applicable` when every such row is, `defended` when every such
 *   row is defended (posture only says so with positive evidence for every relevant object), and
 *   `not-assessed` in every other case, including a threat no posture row covers.
 */
import type { Rule } from "../core/rule.js";
import { severityRank, THREATS, type Threat } from "../core/types.js";
import { POSTURE } from "./posture.js";
import type { AuditReport, Finding, PostureEntry } from "./report.js";

export type CellVerdict = "defended" | "exposed" | "not-assessed" | "not-applicable";

export interface MatrixCell {
  verdict: CellVerdict;
  /** Fingerprints of the findings behind an `exposed` cell. */
  findings: string[];
  /** Why, in a phrase. */
  because: string;
}

export interface ThreatMatrix {
  threats: readonly Threat[];
  /** Cluster ids, columns; `(no cluster)` collects findings no cluster applies. */
  clusters: string[];
  /** cells[threat index][cluster index]. */
  cells: MatrixCell[][];
}

/** Builds the matrix from a report and the rule catalogue (for each rule's threat tags). */
export function threatMatrix(report: AuditReport, rules: readonly Rule[]): ThreatMatrix {
  const threatsOf = new Map(rules.map((r) => [r.meta.id, new Set<string>(r.meta.threats)]));
  const clusters = report.summary.clusters.filter((c) => !c.startsWith("("));
  const active = report.findings.filter((f) => !f.suppressed && severityRank(f.severity) >= severityRank("medium"));
  const orphan = active.some((f) => f.context.clusters.filter((c) => !c.startsWith("(")).length === 0);
  const columns = clusters.length === 0 || orphan ? [...clusters, "(no cluster)"] : clusters;
  const inColumn = (f: Finding, col: string): boolean => {
    const real = f.context.clusters.filter((c) => !c.startsWith("("));
    return col === "(no cluster)" ? real.length === 0 : real.includes(col);
  };
  const rows = new Map(report.posture.map((p) => [p.id, p]));
  const cells = THREATS.map((threat) => {
    // Posture rows guarding this threat: those with a rule tagged with it.
    const guarding = POSTURE.filter((d) => d.rules.some((r) => threatsOf.get(r)?.has(threat)))
      .map((d) => rows.get(d.id))
      .filter((p): p is PostureEntry => p !== undefined);
    return columns.map((col): MatrixCell => {
      const hits = active.filter((f) => f.threats.includes(threat) && inColumn(f, col));
      if (hits.length) {
        const ids = [...new Set(hits.map((h) => h.ruleId))].sort();
        return { verdict: "exposed", findings: hits.map((h) => h.fingerprint), because: `${hits.length} finding${hits.length === 1 ? "" : "s"}: ${ids.join(", ")}` };
      }
      if (!guarding.length) return { verdict: "not-assessed", findings: [], because: "no posture check covers this threat" };
      // The cluster's own posture (a HelmRelease in one cluster does not make another's row applicable).
      const rowsHere = guarding.map((g) => forCluster(g, col));
      return cellFrom(rowsHere);
    });
  });
  return { threats: THREATS, clusters: columns, cells };
}

/** A posture row as one column sees it: the cluster's own verdict, or the fleet's for `(no cluster)`. */
function forCluster(row: PostureEntry, col: string): Pick<PostureEntry, "threat" | "verdict" | "because"> {
  const own = row.clusters?.find((c) => c.cluster === col);
  return own ? { threat: row.threat, verdict: own.verdict, because: own.because } : row;
}

function cellFrom(guarding: Array<Pick<PostureEntry, "threat" | "verdict" | "because">>): MatrixCell {
  const verdicts = guarding.map((g) => g.verdict);
  if (verdicts.every((v) => v === "not-applicable")) return { verdict: "not-applicable", findings: [], because: guarding.map((g) => g.because).join("; ") };
  if (verdicts.every((v) => v === "defended" || v === "not-applicable")) {
    return { verdict: "defended", findings: [], because: guarding.filter((g) => g.verdict === "defended").map((g) => g.because).join("; ") };
  }
  const open = guarding.filter((g) => g.verdict !== "defended" && g.verdict !== "not-applicable");
  return { verdict: "not-assessed", findings: [], because: open.map((g) => `${g.threat}: ${g.because}`).join("; ") };
}
