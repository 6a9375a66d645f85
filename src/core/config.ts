/** The effective `.fluxguard.yaml` (CONVENTIONS.md, "Configuration"). */
import type { JsonObject, Severity } from "./types.js";

export interface RuleSetting {
  enabled: boolean;
  severity?: Severity;
}

export interface EnvironmentSetting {
  paths: string[];
  branches: string[];
}

export interface FleetConfig {
  /** Where the config came from, or null for defaults. */
  file: string | null;
  rules: Record<string, RuleSetting>;
  /** Registry prefixes images may come from; null when not set (rules stay silent). */
  allowedRegistries: string[] | null;
  environments: Record<string, EnvironmentSetting>;
  platform: {
    namespaces: string[];
    /** `namespace/name` of service accounts that are platform tier. */
    serviceAccounts: string[];
    /** Declares a `--default-service-account` lockdown configured outside the repository. */
    defaultServiceAccount: string | null;
  };
  /** Source URL → local directory (relative to the config file). */
  sources: Record<string, string>;
  /**
   * Input sets for ResourceSetInputProviders that can only be resolved live (GitHub pull
   * requests, OCI tags...), keyed by `namespace/name` or `name` of the provider.
   */
  inputs: Record<string, JsonObject[]>;
  /** The verify policy, inline or a path. Read by `fluxguard verify`. */
  signers: unknown;
  /**
   * Set in untrusted mode (`--untrusted`): the scanned repository's own `.fluxguard.yaml` may
   * only tighten rules (enable them, raise severity); what it asked for and was refused is listed.
   */
  untrusted?: {
    /** The repository's own config (relative to the scan root), or null when it has none. */
    repositoryConfig: string | null;
    /** Settings of the repository's config that were not applied, e.g. `rules.parse-error: off`. */
    ignored: string[];
  };
}

export function defaultConfig(): FleetConfig {
  return {
    file: null,
    rules: {},
    allowedRegistries: null,
    environments: {},
    platform: { namespaces: ["flux-system"], serviceAccounts: [], defaultServiceAccount: null },
    sources: {},
    inputs: {},
    signers: null,
  };
}
