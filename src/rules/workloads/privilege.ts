/**
 * Privileged pod settings, the Pod Security Standards' baseline in reverse: what lets a
 * container out of its sandbox. Used on rendered workloads (structured, with Kubernetes'
 * pod/container precedence) and on Helm values (any tree, any depth).
 */
import { asArray, asObject, path } from "../../core/flux.js";
import { escapeToken } from "../../core/pointer.js";
import type { JsonObject, JsonValue } from "../../core/types.js";
import { containersOf, isTemplated } from "../util.js";

/** Capabilities the baseline Pod Security Standard allows to add. */
const BASELINE_CAPS = new Set(["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"]);
/** Capabilities that amount to root on the node, or close. */
const HOST_CAPS = new Set(["ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO", "SYS_BOOT", "DAC_READ_SEARCH", "BPF", "PERFMON", "NET_ADMIN"]);

export interface Privilege {
  pointer: string;
  what: string;
  /** Host-level: the container can take over the node. */
  host: boolean;
}

function cap(c: JsonValue): string | null {
  return typeof c === "string" ? c.toUpperCase().replace(/^CAP_/, "") : null;
}

function capabilities(add: JsonValue | undefined, base: string): Privilege[] {
  const out: Privilege[] = [];
  asArray(add).forEach((c, i) => {
    const name = cap(c);
    if (!name || isTemplated(c) || BASELINE_CAPS.has(name)) return;
    out.push({ pointer: `${base}/${i}`, what: `adds capability ${name}`, host: HOST_CAPS.has(name) });
  });
  return out;
}

const HOST_PATH_ROOTS = /^\/(|proc|sys|etc|root|var\/run|run|var\/lib\/(kubelet|docker|containerd)|dev)\/?$|\.sock$/;

/** Privileges of one pod spec, with container settings overriding the pod's. */
export function podPrivileges(podPointer: string, spec: JsonObject): Privilege[] {
  const out: Privilege[] = [];
  for (const f of ["hostNetwork", "hostPID", "hostIPC"]) {
    if (spec[f] === true) out.push({ pointer: `${podPointer}/${f}`, what: `sets ${f}: true`, host: f !== "hostNetwork" });
  }
  asArray(spec["volumes"]).forEach((v, i) => {
    const p = path(v, "hostPath", "path");
    if (typeof p === "string") out.push({ pointer: `${podPointer}/volumes/${i}/hostPath`, what: `mounts hostPath ${p}`, host: HOST_PATH_ROOTS.test(p) });
  });
  const podSc = asObject(spec["securityContext"]) ?? {};
  for (const { pointer, container } of containersOf(podPointer, spec)) {
    const sc = asObject(container["securityContext"]) ?? {};
    const name = typeof container["name"] === "string" ? container["name"] : "?";
    if (sc["privileged"] === true) out.push({ pointer: `${pointer}/securityContext/privileged`, what: `container ${name} is privileged`, host: true });
    if (sc["allowPrivilegeEscalation"] === true) out.push({ pointer: `${pointer}/securityContext/allowPrivilegeEscalation`, what: `container ${name} allows privilege escalation`, host: false });
    const user = sc["runAsUser"] ?? podSc["runAsUser"];
    const userPtr = sc["runAsUser"] !== undefined ? `${pointer}/securityContext/runAsUser` : `${podPointer}/securityContext/runAsUser`;
    if (user === 0) out.push({ pointer: userPtr, what: `container ${name} runs as root (runAsUser: 0)`, host: false });
    const nonRoot = sc["runAsNonRoot"] ?? podSc["runAsNonRoot"];
    if (nonRoot === false && user === undefined) {
      out.push({ pointer: sc["runAsNonRoot"] !== undefined ? `${pointer}/securityContext/runAsNonRoot` : `${podPointer}/securityContext/runAsNonRoot`, what: `container ${name} may run as root (runAsNonRoot: false)`, host: false });
    }
    out.push(...capabilities(path(sc, "capabilities", "add"), `${pointer}/securityContext/capabilities/add`).map((p) => ({ ...p, what: `container ${name} ${p.what}` })));
  }
  return out;
}

/** Privileged settings anywhere in a Helm values tree (charts name their knobs freely). */
export function valuesPrivileges(v: JsonValue | undefined, base: string, out: Privilege[] = []): Privilege[] {
  if (Array.isArray(v)) v.forEach((x, i) => valuesPrivileges(x, `${base}/${i}`, out));
  else if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      const p = `${base}/${escapeToken(k)}`;
      const at = p.slice(1).split("/").join(".");
      if (x === true && (k === "privileged" || k === "hostNetwork" || k === "hostPID" || k === "hostIPC")) out.push({ pointer: p, what: `${at}: true`, host: k !== "hostNetwork" });
      else if (x === true && k === "allowPrivilegeEscalation") out.push({ pointer: p, what: `${at}: true`, host: false });
      else if (k === "runAsUser" && (x === 0 || x === "0")) out.push({ pointer: p, what: `${at}: 0 (root)`, host: false });
      else if (k === "runAsNonRoot" && x === false) out.push({ pointer: p, what: `${at}: false`, host: false });
      else if (k === "hostPath" && (typeof path(x, "path") === "string" || (typeof x === "string" && x.startsWith("/")))) {
        const hp = typeof x === "string" ? x : (path(x, "path") as string);
        out.push({ pointer: p, what: `hostPath ${hp} at ${at}`, host: HOST_PATH_ROOTS.test(hp) });
      } else if (k === "capabilities" && asObject(x)) {
        out.push(...capabilities(path(x, "add"), `${p}/add`).map((c) => ({ ...c, what: `${at}.add ${c.what.replace(/^adds capability /, "")}` })));
      } else valuesPrivileges(x, p, out);
    }
  }
  return out;
}
