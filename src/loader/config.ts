import { existsSync, readFileSync, realpathSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { defaultConfig, type FleetConfig, type RuleSetting } from "../core/config.js";
import { UsageError } from "../core/errors.js";
import { pointer } from "../core/pointer.js";
import { isSeverity, severityRank, type JsonObject, type JsonValue, type Severity } from "../core/types.js";
import { isInside } from "./guard.js";
import { parseYamlFile } from "./yaml.js";

export const CONFIG_FILE = ".fluxguard.yaml";

const TOP_KEYS = ["rules", "allowedRegistries", "environments", "platform", "sources", "inputs", "signers"];
const PLATFORM_KEYS = ["namespaces", "serviceAccounts", "defaultServiceAccount"];
const ENV_KEYS = ["paths", "branches"];

export interface ConfigTrust {
  /**
   * Untrusted mode, for pull requests: `explicit` (if any) is the trusted config and must lie
   * outside the scanned root; the repository's own `.fluxguard.yaml` may only enable rules or
   * raise their severity, and every other setting in it is ignored.
   */
  untrusted?: boolean;
  /** A rule's default severity (to tell a raise from a lowering). */
  severityOf?: (ruleId: string) => Severity | undefined;
}

function realOr(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}

/**
 * Loads `.fluxguard.yaml` from `--config` or the scan root. Unknown keys and wrong types are
 * errors with the line they are on. In untrusted mode (see {@link ConfigTrust}), the
 * repository's own config is merged so that it can only tighten the rules.
 */
export function loadConfig(root: string | null, explicit: string | undefined, knownRuleIds: readonly string[], trust: ConfigTrust = {}): FleetConfig {
  if (trust.untrusted && root !== null) return loadUntrusted(root, explicit, knownRuleIds, trust);
  return loadOne(root, explicit, knownRuleIds);
}

function loadUntrusted(root: string, explicit: string | undefined, knownRuleIds: readonly string[], trust: ConfigTrust): FleetConfig {
  if (explicit && isInside(realOr(root), realOr(explicit))) {
    throw new UsageError(`--config ${explicit} is inside the scanned repository, which --untrusted does not trust`, "keep the trusted config outside the checkout of the pull request (e.g. from the base branch)");
  }
  const cfg = explicit ? loadOne(null, explicit, knownRuleIds) : defaultConfig();
  const own = join(root, CONFIG_FILE);
  const ignored: string[] = [];
  cfg.untrusted = { repositoryConfig: existsSync(own) ? CONFIG_FILE : null, ignored };
  if (!existsSync(own)) return cfg;
  const repo = loadOne(null, own, knownRuleIds);
  for (const [id, want] of Object.entries(repo.rules).sort(([a], [b]) => a.localeCompare(b))) {
    const have = cfg.rules[id] ?? { enabled: true };
    const haveSev = have.severity ?? trust.severityOf?.(id);
    const wantSev = want.severity ?? haveSev;
    const disables = have.enabled && !want.enabled;
    const lowers = haveSev !== undefined && wantSev !== undefined && severityRank(wantSev) < severityRank(haveSev);
    if (disables || lowers) {
      ignored.push(`rules.${id}: ${disables ? "off" : wantSev}`);
      continue;
    }
    cfg.rules[id] = { enabled: have.enabled || want.enabled, ...(wantSev !== undefined ? { severity: wantSev } : {}) };
  }
  const def = defaultConfig();
  if (repo.allowedRegistries !== null) ignored.push("allowedRegistries");
  if (Object.keys(repo.environments).length) ignored.push("environments");
  if (JSON.stringify(repo.platform) !== JSON.stringify(def.platform)) ignored.push("platform");
  if (Object.keys(repo.sources).length) ignored.push("sources");
  if (Object.keys(repo.inputs).length) ignored.push("inputs");
  if (repo.signers !== null) ignored.push("signers");
  return cfg;
}

function loadOne(root: string | null, explicit: string | undefined, knownRuleIds: readonly string[]): FleetConfig {
  const file = explicit ? resolve(explicit) : root ? join(root, CONFIG_FILE) : null;
  if (file === null || !existsSync(file)) {
    if (explicit) throw new UsageError(`config file not found: ${explicit}`);
    return defaultConfig();
  }
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read config ${file}: ${(e as Error).message}`);
  }
  return parseConfig(text, file, knownRuleIds);
}

export function parseConfig(text: string, file: string, knownRuleIds: readonly string[]): FleetConfig {
  const parsed = parseYamlFile(file, text);
  const err = parsed.errors[0];
  if (err) throw new UsageError(`${file}:${err.line}:${err.column}: invalid YAML: ${err.message}`);
  const doc = parsed.documents[0];
  const cfg = defaultConfig();
  cfg.file = file;
  if (!doc || doc.value === null) return cfg;
  const fail = (p: string, msg: string): never => {
    const at = doc.locate(p);
    throw new UsageError(`${file}:${at.line}:${at.column}: ${msg}`, "see schemas/fluxguard-config.schema.json for the config format");
  };
  const v = doc.value;
  if (typeof v !== "object" || Array.isArray(v) || v === null) return fail("", "the config must be a mapping");
  const strList = (val: JsonValue | undefined, p: string): string[] => {
    if (!Array.isArray(val) || val.some((x) => typeof x !== "string")) return fail(p, `${p.slice(1).replace(/\//g, ".")} must be a list of strings`);
    return val as string[];
  };
  for (const key of Object.keys(v)) {
    if (!TOP_KEYS.includes(key)) fail(pointer(key), `unknown key '${key}' (expected one of: ${TOP_KEYS.join(", ")})`);
  }
  const rules = v["rules"];
  if (rules !== undefined && rules !== null) {
    if (typeof rules !== "object" || Array.isArray(rules)) fail("/rules", "rules must be a mapping of rule id to a setting");
    for (const [id, setting] of Object.entries(rules as Record<string, JsonValue>)) {
      const p = pointer("rules", id);
      if (!knownRuleIds.includes(id)) fail(p, `unknown rule '${id}' (run \`fluxguard rules\` for the list)`);
      cfg.rules[id] = parseRuleSetting(setting, (m) => fail(p, m));
    }
  }
  if (v["allowedRegistries"] !== undefined) {
    cfg.allowedRegistries = strList(v["allowedRegistries"], "/allowedRegistries").map((r) => r.replace(/\/+$/, ""));
  }
  const envs = v["environments"];
  if (envs !== undefined && envs !== null) {
    if (typeof envs !== "object" || Array.isArray(envs)) fail("/environments", "environments must be a mapping of name to {paths, branches}");
    for (const [name, e] of Object.entries(envs as Record<string, JsonValue>)) {
      const p = pointer("environments", name);
      if (typeof e !== "object" || e === null || Array.isArray(e)) fail(p, `environment '${name}' must be a mapping with paths and/or branches`);
      const eo = e as Record<string, JsonValue>;
      for (const k of Object.keys(eo)) if (!ENV_KEYS.includes(k)) fail(pointer("environments", name, k), `unknown key '${k}' in environment '${name}' (expected paths, branches)`);
      cfg.environments[name] = {
        paths: eo["paths"] === undefined ? [] : strList(eo["paths"], pointer("environments", name, "paths")),
        branches: eo["branches"] === undefined ? [] : strList(eo["branches"], pointer("environments", name, "branches")),
      };
    }
  }
  const platform = v["platform"];
  if (platform !== undefined && platform !== null) {
    if (typeof platform !== "object" || Array.isArray(platform)) fail("/platform", "platform must be a mapping");
    const po = platform as Record<string, JsonValue>;
    for (const k of Object.keys(po)) if (!PLATFORM_KEYS.includes(k)) fail(pointer("platform", k), `unknown key '${k}' in platform (expected ${PLATFORM_KEYS.join(", ")})`);
    if (po["namespaces"] !== undefined) cfg.platform.namespaces = strList(po["namespaces"], "/platform/namespaces");
    if (po["serviceAccounts"] !== undefined) {
      cfg.platform.serviceAccounts = strList(po["serviceAccounts"], "/platform/serviceAccounts");
      cfg.platform.serviceAccounts.forEach((sa, i) => {
        if (!/^[a-z0-9.-]+\/[a-z0-9.-]+$/.test(sa)) fail(pointer("platform", "serviceAccounts", i), `service account '${sa}' must be written namespace/name`);
      });
    }
    if (po["defaultServiceAccount"] !== undefined) {
      if (typeof po["defaultServiceAccount"] !== "string") fail("/platform/defaultServiceAccount", "defaultServiceAccount must be a string");
      cfg.platform.defaultServiceAccount = po["defaultServiceAccount"] as string;
    }
  }
  const sources = v["sources"];
  if (sources !== undefined && sources !== null) {
    if (typeof sources !== "object" || Array.isArray(sources)) fail("/sources", "sources must be a mapping of source URL to a local directory");
    for (const [url, dir] of Object.entries(sources as Record<string, JsonValue>)) {
      if (typeof dir !== "string") fail(pointer("sources", url), `the local directory for '${url}' must be a string`);
      cfg.sources[url] = resolve(dirname(file), dir as string);
    }
  }
  const inputs = v["inputs"];
  if (inputs !== undefined && inputs !== null) {
    if (typeof inputs !== "object" || Array.isArray(inputs)) fail("/inputs", "inputs must be a mapping of ResourceSetInputProvider (namespace/name or name) to a list of input sets");
    for (const [provider, sets] of Object.entries(inputs as Record<string, JsonValue>)) {
      const p = pointer("inputs", provider);
      if (!/^([a-z0-9.-]+\/)?[a-z0-9.-]+$/.test(provider)) fail(p, `'${provider}' must name a ResourceSetInputProvider as namespace/name or name`);
      const list = Array.isArray(sets) ? sets : [sets];
      if (list.length === 0) fail(p, `the input sets of '${provider}' must not be empty`);
      list.forEach((set, i) => {
        if (set === null || typeof set !== "object" || Array.isArray(set)) fail(Array.isArray(sets) ? pointer("inputs", provider, i) : p, `each input set of '${provider}' must be a mapping of input names to values`);
      });
      cfg.inputs[provider] = list as JsonObject[];
    }
  }
  if (v["signers"] !== undefined) cfg.signers = v["signers"];
  return cfg;
}

function parseRuleSetting(setting: JsonValue, fail: (m: string) => never): RuleSetting {
  if (setting === "off" || setting === false) return { enabled: false };
  if (setting === "on" || setting === true) return { enabled: true };
  if (isSeverity(setting)) return { enabled: true, severity: setting };
  if (typeof setting === "object" && setting !== null && !Array.isArray(setting)) {
    const out: RuleSetting = { enabled: true };
    for (const [k, val] of Object.entries(setting)) {
      if (k === "enabled") {
        if (typeof val !== "boolean") fail("enabled must be true or false");
        out.enabled = val as boolean;
      } else if (k === "severity") {
        if (!isSeverity(val)) fail(`severity must be one of critical, high, medium, low, info`);
        out.severity = val as RuleSetting["severity"];
      } else fail(`unknown key '${k}' in a rule setting (expected enabled, severity)`);
    }
    return out;
  }
  return fail("a rule setting is off, on, a severity, or {enabled, severity}");
}
