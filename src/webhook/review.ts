/**
 * AdmissionReview (admission.k8s.io/v1) in and out, read defensively: the body is untrusted
 * JSON of bounded size; every field is checked for its type before use; nesting deeper than
 * the limit is refused before any rule walks it. The answer is always a well-formed
 * AdmissionReview when the request's uid could be read, and a 400 otherwise.
 */
import type { K8sObject } from "../core/types.js";
import type { Finding } from "../engine/report.js";
import type { Candidate, Decision } from "./evaluate.js";
import { oneLine } from "./evaluate.js";

export const ADMISSION_API_VERSION = "admission.k8s.io/v1";

/** The request fields the webhook reads. */
export interface AdmissionRequest {
  uid: string;
  kind: { group: string; version: string; kind: string };
  namespace: string | null;
  name: string;
  operation: Candidate["operation"];
  username: string;
  dryRun: boolean;
  candidate: Candidate;
}

export interface AdmissionResponseBody {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: "AdmissionReview";
  response: {
    uid: string;
    allowed: boolean;
    status?: { code: number; message: string; reason?: string };
    warnings?: string[];
  };
}

/** Why a body was refused: `uid` when one could be read (answered as a denied review), else a 400. */
export class ReviewError extends Error {
  constructor(
    message: string,
    readonly uid: string | null,
  ) {
    super(message);
    this.name = "ReviewError";
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Depth of a parsed JSON value, iteratively (no recursion on hostile input); stops past `limit`. */
export function jsonDepth(v: unknown, limit: number): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[v, 1]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (typeof x !== "object" || x === null) continue;
    if (d > max) max = d;
    if (max > limit) return max;
    for (const c of Array.isArray(x) ? x : Object.values(x)) if (typeof c === "object" && c !== null) stack.push([c, d + 1]);
  }
  return max;
}

const OPERATIONS = new Set(["CREATE", "UPDATE", "DELETE", "CONNECT"]);
const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,252})?$/;

function asK8sObject(v: unknown, kind: AdmissionRequest["kind"], uid: string, what: string): K8sObject | null {
  if (v === undefined || v === null) return null;
  if (!isObject(v)) throw new ReviewError(`request.${what} is not an object`, uid);
  const md = v["metadata"];
  if (!isObject(md)) throw new ReviewError(`request.${what}.metadata is missing`, uid);
  const name = md["name"] ?? md["generateName"];
  if (typeof name !== "string" || name === "") throw new ReviewError(`request.${what}.metadata.name is missing`, uid);
  if (md["namespace"] !== undefined && typeof md["namespace"] !== "string") throw new ReviewError(`request.${what}.metadata.namespace is not a string`, uid);
  for (const k of ["labels", "annotations"]) {
    const m = md[k];
    if (m === undefined || m === null) continue;
    if (!isObject(m) || Object.values(m).some((x) => typeof x !== "string")) throw new ReviewError(`request.${what}.metadata.${k} is not a map of strings`, uid);
  }
  // The kind the API server says it is, at the version it sends (matchPolicy Equivalent).
  const apiVersion = kind.group ? `${kind.group}/${kind.version}` : kind.version;
  const o = { ...v, apiVersion, kind: kind.kind, metadata: { ...md, name } } as unknown as K8sObject;
  delete (o.metadata as unknown as Record<string, unknown>)["managedFields"];
  return o;
}

/** Parses an AdmissionReview body. Throws ReviewError for anything it cannot judge. */
export function parseReview(body: string, opts: { maxDepth: number }): AdmissionRequest {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (e) {
    throw new ReviewError(`body is not JSON: ${oneLine((e as Error).message, 120)}`, null);
  }
  if (!isObject(doc)) throw new ReviewError("body is not a JSON object", null);
  const req = doc["request"];
  const uid = isObject(req) && typeof req["uid"] === "string" && req["uid"].length > 0 && req["uid"].length <= 128 ? req["uid"] : null;
  if (doc["kind"] !== "AdmissionReview") throw new ReviewError("kind is not AdmissionReview", uid);
  if (doc["apiVersion"] !== ADMISSION_API_VERSION) throw new ReviewError(`apiVersion ${JSON.stringify(doc["apiVersion"])?.slice(0, 60) ?? "(none)"} is not ${ADMISSION_API_VERSION}`, uid);
  if (!isObject(req)) throw new ReviewError("request is missing", null);
  if (uid === null) throw new ReviewError("request.uid is missing", null);
  if (jsonDepth(req, opts.maxDepth) > opts.maxDepth) throw new ReviewError(`request is nested deeper than ${opts.maxDepth} levels`, uid);
  const k = req["kind"];
  if (!isObject(k) || typeof k["group"] !== "string" || typeof k["version"] !== "string" || typeof k["kind"] !== "string" || k["kind"] === "" || k["version"] === "") {
    throw new ReviewError("request.kind is not a group/version/kind", uid);
  }
  const kind = { group: k["group"], version: k["version"], kind: k["kind"] };
  const op = req["operation"];
  if (typeof op !== "string" || !OPERATIONS.has(op)) throw new ReviewError("request.operation is not CREATE, UPDATE, DELETE or CONNECT", uid);
  const ns = req["namespace"];
  if (ns !== undefined && ns !== null && (typeof ns !== "string" || (ns !== "" && !NAME.test(ns)))) throw new ReviewError("request.namespace is not a namespace name", uid);
  const userInfo = req["userInfo"];
  const username = isObject(userInfo) && typeof userInfo["username"] === "string" ? userInfo["username"] : "";
  const object = asK8sObject(req["object"], kind, uid, "object");
  const oldObject = asK8sObject(req["oldObject"], kind, uid, "oldObject");
  if ((op === "CREATE" || op === "UPDATE") && !object) throw new ReviewError(`request.object is missing for ${op}`, uid);
  // A namespaced object may arrive without metadata.namespace on CREATE: the request has it.
  if (object && typeof ns === "string" && ns !== "" && object.metadata.namespace === undefined) object.metadata.namespace = ns;
  return {
    uid,
    kind,
    namespace: typeof ns === "string" && ns !== "" ? ns : null,
    name: typeof req["name"] === "string" ? req["name"] : (object?.metadata.name ?? ""),
    operation: op as Candidate["operation"],
    username,
    dryRun: req["dryRun"] === true,
    candidate: { operation: op as Candidate["operation"], object, oldObject },
  };
}

/** Warnings as `kubectl` prints them: one line each, rule id first, bounded in count and length. */
export function warningText(f: Finding): string {
  return oneLine(`[${f.ruleId}] ${f.severity}: ${f.message}`, 240);
}

const MAX_WARNINGS = 12;

/** The AdmissionReview answering a decision. */
export function responseFor(uid: string, d: Decision, opts: { denyAt: string }): AdmissionResponseBody {
  const warnings = d.warnings.map(warningText);
  if (d.allowed) for (const e of d.errors) warnings.unshift(oneLine(`[${e.ruleId}] internal error (audit mode, not denied): ${e.reason}`, 240));
  if (warnings.length > MAX_WARNINGS) warnings.splice(MAX_WARNINGS - 1, warnings.length, `… and ${d.warnings.length - (MAX_WARNINGS - 1)} more (fluxguard audit --cluster lists them)`);
  const response: AdmissionResponseBody["response"] = { uid, allowed: d.allowed };
  if (!d.allowed) {
    const reasons = [
      ...d.denials.map((f) => `[${f.ruleId}] ${f.severity}: ${f.message}`),
      ...d.errors.map((e) => `[${e.ruleId}] internal error, denied (fail-closed): ${e.reason}`),
    ];
    const shown = reasons.slice(0, 5).map((r) => oneLine(r, 400));
    const more = reasons.length > shown.length ? `; and ${reasons.length - shown.length} more` : "";
    response.status = { code: 403, reason: "Forbidden", message: `fluxguard denied this change (at or above ${opts.denyAt}): ${shown.join("; ")}${more}` };
  }
  if (warnings.length) response.warnings = warnings;
  return { apiVersion: ADMISSION_API_VERSION, kind: "AdmissionReview", response };
}

/** A review refused for its shape (uid known): denied with code 400 and the reason. */
export function refusal(uid: string, reason: string): AdmissionResponseBody {
  return { apiVersion: ADMISSION_API_VERSION, kind: "AdmissionReview", response: { uid, allowed: false, status: { code: 400, reason: "BadRequest", message: `fluxguard could not read this AdmissionReview: ${oneLine(reason, 200)}` } } };
}
