/**
 * The rule contract (after ESLint's meta + check). A rule is a pure function of the model:
 * it reports an object and a JSON pointer, never a file and line. Formatters resolve
 * locations late, so one rule serves files, clusters and admission requests.
 */
import type { FleetModel, KustomizeFile, ModelObject } from "./model.js";
import type { FleetConfig } from "./config.js";
import type { Severity, SourceLocation, Threat } from "./types.js";

export interface RuleMeta {
  /** Stable kebab-case id. */
  id: string;
  title: string;
  /** The highest severity the rule reports (the catalogue's, and a finding's default). */
  severity: Severity;
  /**
   * When findings may be lower than `severity`: how the rule chooses, in a sentence (the
   * catalogue and `explain` show it). Absent: every finding is at `severity`.
   */
  severityVaries?: string;
  threats: readonly Threat[];
  /** One line, for `fluxguard rules`. */
  summary: string;
  /** Why this matters, in the seed's terms. */
  rationale: string;
  remediation: {
    text: string;
    /** A YAML snippet that fixes it. */
    snippet: string;
  };
  references: readonly string[];
  /** Model modes the rule makes sense in (default: all). */
  modes?: ReadonlyArray<FleetModel["mode"]>;
  /**
   * The finding describes the cluster (or repository) as a whole, and `object` is only where to
   * look (an entrypoint, an example). Admission judges such a rule by whether it fires, not by
   * which object it names: a change that moves the anchor introduces nothing.
   */
  aggregate?: boolean;
  /**
   * The kinds of the objects whose presence or content the rule's findings depend on, directly
   * or through the model's derived views (a view's kinds are in src/core/model-kinds.ts).
   * Admission runs a rule only for changes to a kind it reads, and keeps its findings on the
   * cluster as they were while no object of those kinds changes. A rule that reads every kind
   * but a few says so with `{ allKindsBut, why }` (`allKindsBut: []`: every kind). Every rule of
   * the catalogue declares it (src/rules/reads.test.ts fails when one does not, and when a
   * rule's findings change with an object of a kind it does not read); absent (rules outside
   * the catalogue): every kind.
   */
  reads?: RuleReads;
}

/**
 * What a rule reads: a list of kinds, or every kind but the listed ones, with the reason the
 * rule cannot name its kinds (e.g. it looks at every object's annotations).
 */
export type RuleReads = readonly string[] | { readonly allKindsBut: readonly string[]; readonly why: string };

/** Whether a rule's findings may depend on objects of `kind` (`meta.reads`; absent: every kind). */
export function readsKind(meta: Pick<RuleMeta, "reads">, kind: string): boolean {
  const r = meta.reads;
  if (!r) return true;
  return isKindList(r) ? r.includes(kind) : !r.allKindsBut.includes(kind);
}

function isKindList(r: RuleReads): r is readonly string[] {
  return Array.isArray(r);
}

export interface Report {
  /** The object at fault; null for repository-wide findings. */
  object?: ModelObject | null;
  /** JSON pointer into `object`. */
  pointer?: string;
  /** For findings in kustomize config files or unparsable files. */
  file?: KustomizeFile;
  location?: SourceLocation;
  message: string;
  /** Overrides the rule's default severity for this finding. */
  severity?: Severity;
  /** Objects whose presence (or absence) is behind the verdict, for the reader. */
  related?: ModelObject[];
  /**
   * The shared fact behind this finding, when it is one of many that one change removes
   * (src/engine/root-causes.ts): `lockdown` when it follows from the controllers running
   * without the multi-tenancy lockdown. Unset: the rule itself is the cause.
   */
  cause?: "lockdown";
}

export interface RuleContext {
  model: FleetModel;
  config: FleetConfig;
  report(r: Report): void;
}

export interface Rule {
  meta: RuleMeta;
  check(ctx: RuleContext): void;
}

export function defineRule(rule: Rule): Rule {
  return rule;
}
