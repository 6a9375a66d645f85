/**
 * The README written beside the generated fleet: how to install it, and the commands that
 * create every Secret it names. It never holds a secret value: values come from files the
 * operator creates and from environment variables, and go into Git only SOPS-encrypted.
 */
import type { GenerateOptions } from "./fleet.js";
import { names, signingKeyFileName, substitute } from "./fleet.js";
import { sshHost, type AlertReceiver, type ClusterSpec, type FleetSpec, type SigningKey, type TenantSpec } from "./spec.js";

const SOPS = `sops --encrypt --age "$AGE_RECIPIENT" --encrypted-regex '^(data|stringData)$' --input-type yaml --output-type yaml /dev/stdin`;

function keyCommands(keys: readonly SigningKey[]): { prepare: string[]; fromFiles: string[] } {
  const prepare: string[] = [];
  const fromFiles: string[] = [];
  for (const k of [...keys].sort((a, b) => a.name.localeCompare(b.name))) {
    const target = signingKeyFileName(k);
    if (k.file) {
      fromFiles.push(`--from-file=${target}=${k.file}`);
    } else if (k.type === "pgp") {
      prepare.push(`gpg --export --armor ${k.fingerprint} > ${target}`);
      fromFiles.push(`--from-file=${target}=./${target}`);
    } else {
      prepare.push(`# ${target}: the SSH public key (authorized_keys format) whose \`ssh-keygen -lf\` fingerprint is ${k.fingerprint}`);
      fromFiles.push(`--from-file=${target}=./${target}`);
    }
  }
  return { prepare, fromFiles };
}

/** `out` is a file under secrets/, or "apply" to create the Secret in the cluster directly. */
function signingSecret(name: string, namespace: string, keys: readonly SigningKey[], out: string): string[] {
  const { prepare, fromFiles } = keyCommands(keys);
  const sink = out === "apply" ? "| kubectl apply -f -" : `> ${out}`;
  if (fromFiles.length === 0) {
    return [
      `# No signing keys in the spec: add each trusted signer's public key as <name>.asc (PGP) or <name>.sshpub (SSH).`,
      `kubectl create secret generic ${name} --namespace ${namespace} \\`,
      `  --from-file=<signer>.asc=<path> \\`,
      `  --dry-run=client -o yaml ${sink}`,
    ];
  }
  return [
    ...prepare,
    `kubectl create secret generic ${name} --namespace ${namespace} \\`,
    ...fromFiles.map((f) => `  ${f} \\`),
    `  --dry-run=client -o yaml ${sink}`,
  ];
}

function deployKeySecret(name: string, namespace: string, url: string, out: string): string[] {
  const { host, port } = sshHost(url);
  const scan = port ? `ssh-keyscan -p ${port} ${host}` : `ssh-keyscan ${host}`;
  return [
    `ssh-keygen -t ed25519 -N "" -C "${name}" -f ./${name}`,
    `${scan} > ./${host}.known_hosts   # compare with ${host}'s published host key fingerprints before use`,
    `kubectl create secret generic ${name} --namespace ${namespace} \\`,
    `  --from-file=identity=./${name} \\`,
    `  --from-file=identity.pub=./${name}.pub \\`,
    `  --from-file=known_hosts=./${host}.known_hosts \\`,
    `  --dry-run=client -o yaml | ${SOPS} > ${out}`,
    `# Add ./${name}.pub to ${url.replace(/^ssh:\/\/[^@]+@/, "")} as a read-only deploy key, then delete the private key file.`,
    `shred -u ./${name}`,
  ];
}

function alertSecret(r: AlertReceiver, namespace: string, out: string): string[] {
  const env = r.type === "github" || r.type === "gitlab" || r.type === "gitea" || r.type.startsWith("bitbucket") ? "TOKEN" : "WEBHOOK_URL";
  const key = env === "TOKEN" ? "token" : "address";
  return [
    `kubectl create secret generic ${r.secretName} --namespace ${namespace} \\`,
    `  --from-literal=${key}="$${env}" \\`,
    `  --dry-run=client -o yaml | ${SOPS} > ${out}`,
  ];
}

function block(lines: string[]): string {
  return ["```sh", ...lines, "```"].join("\n");
}

function clusterSection(spec: FleetSpec, c: ClusterSpec, opts: GenerateOptions): string {
  const ns = spec.platform.namespace;
  const images = spec.tenants.some((t) => t.clusters.includes(c.name) && t.images.length > 0);
  const out = `secrets/${c.name}`;
  const install =
    c.installer === "bootstrap"
      ? [
          `flux bootstrap git --url=${spec.platform.repository} --branch=${c.branch} --path=${c.path} \\`,
          `  --private-key-file=./flux-system-deploy-key \\`,
          ...(images ? ["  --components-extra=image-reflector-controller,image-automation-controller \\"] : []),
          `  --ssh-signing-key-file=<your SSH signing key>   # bootstrap's own commits must be signed too`,
        ]
      : [
          `# Install the Flux Operator (e.g. its Helm chart), then give Flux its deploy key and apply the instance:`,
          `kubectl create secret generic flux-system --namespace ${ns} \\`,
          `  --from-file=identity=./flux-system-deploy-key \\`,
          `  --from-file=known_hosts=./${sshHost(spec.platform.repository).host}.known_hosts`,
          `kubectl apply -f ${c.path}/flux-system/flux-instance.yaml`,
        ];
  return [
    `### Cluster ${c.name} (environment ${c.environment}, branch ${c.branch}, installer ${c.installer})`,
    "",
    "Before the first sync, create the age key that decrypts committed Secrets (it never goes into Git):",
    "",
    block([
      "age-keygen -o ./age.agekey   # AGE_RECIPIENT is the public key it prints",
      `kubectl create namespace ${ns} --dry-run=client -o yaml | kubectl apply -f -`,
      `kubectl create secret generic sops-age --namespace ${ns} --from-file=age.agekey=./age.agekey`,
    ]),
    "",
    "The platform repository's deploy key, signing keys and alert receiver. The signing keys are applied directly, before",
    "bootstrap: the platform sync verifies every commit with them, so they cannot come from Git.",
    "",
    block([
      `ssh-keygen -t ed25519 -N "" -C "flux-system" -f ./flux-system-deploy-key`,
      `ssh-keyscan ${sshHost(spec.platform.repository).host} > ./${sshHost(spec.platform.repository).host}.known_hosts   # check against the published fingerprints`,
      ...signingSecret(names.platformSigningKeys, ns, spec.platform.signingKeys, "apply"),
      ...alertSecret(spec.platform.alerts, ns, `${out}/${spec.platform.alerts.secretName}.yaml`),
    ]),
    "",
    "Install Flux:",
    "",
    block(install),
    ...(opts.kyverno ? ["", "Install Kyverno (1.13 or later) before the `platform-kyverno-policies` Kustomization can apply."] : []),
  ].join("\n");
}

function tenantSection(spec: FleetSpec, t: TenantSpec): string {
  const home = t.namespaces[0]!;
  const out = "secrets/${CLUSTER}";
  const clusters = spec.clusters.filter((c) => t.clusters.includes(c.name));
  const paths = clusters.map((c) => `\`${substitute(t.path, c)}\` on ${c.name}`).join(", ");
  return [
    `### Tenant ${t.name}`,
    "",
    `Namespaces: ${t.namespaces.join(", ")}. Repository: ${t.repository} (${paths}). Allowed kinds: ${t.allowedKinds.map((k) => k.text).join(", ")}. Allowed registries: ${t.allowedRegistries.join(", ")}.`,
    "",
    `Run once for each cluster the tenant is on (${clusters.map((c) => c.name).join(", ")}), with CLUSTER set:`,
    "",
    block([
      ...deployKeySecret(names.deployKey(t), home, t.repository, `${out}/${names.deployKey(t)}.yaml`),
      ...signingSecret(names.signingKeys(t), home, t.signingKeys, `${out}/${names.signingKeys(t)}.yaml`),
      ...alertSecret(t.alerts, home, `${out}/${t.alerts.secretName}.yaml`),
    ]),
    ...(t.charts.length
      ? ["", `Chart values live in the tenant's repository as ConfigMaps ${t.charts.map((c) => `\`${c.name}-values\``).join(", ")} (key \`values.yaml\`).`]
      : []),
  ].join("\n");
}

export function renderReadme(spec: FleetSpec, opts: GenerateOptions): string {
  const clusters = [...spec.clusters].sort((a, b) => a.name.localeCompare(b.name));
  const tenants = [...spec.tenants].sort((a, b) => a.name.localeCompare(b.name));
  return [
    "# Hardened Flux fleet",
    "",
    "Generated by `fluxguard generate` from the fleet spec. Edit the spec and generate again; check the result with `fluxguard audit .`.",
    "",
    "## What is here",
    "",
    "| Path | What | Threats answered |",
    "| --- | --- | --- |",
    "| `clusters/<cluster>/flux-system/` | Flux install with the multi-tenancy lockdown, the verified platform sync, source-controller egress policy, platform alerts | weakness-1, weakness-2, weakness-4, adversary-1, adversary-2 |",
    "| `clusters/<cluster>/*.yaml` | Platform Kustomizations: policies, monitoring, tenants, secrets | weakness-5 (one path and branch per cluster) |",
    "| `platform/policies/` | ValidatingAdmissionPolicies keyed on each tenant reconciler's identity | adversary-3, adversary-4, adversary-5, weakness-2, weakness-4 |",
    ...(opts.kyverno ? ["| `platform/kyverno/` | The same policies as Kyverno ClusterPolicies | as above |"] : []),
    "| `platform/monitoring/` | PrometheusRule and the kube-state-metrics config for `gotk_resource_info` | weakness-6 |",
    "| `tenants/<cluster>/<tenant>/` | Namespace, service account, least-privilege Role, verified sync, alerts, image policies, HelmReleases | weakness-1, weakness-3, weakness-4, adversary-1, adversary-5 |",
    "| `secrets/<cluster>/` | Your SOPS-encrypted Secrets (commands below) | weakness-3 |",
    "",
    "Requires Flux 2.9 or later (SSH commit signatures are verified from 2.9), Kubernetes 1.33 or later, and kube-prometheus-stack for the monitoring.",
    "",
    "## Secrets",
    "",
    "Nothing here contains a secret value, and you should keep it so: every Secret is created from files you make or from",
    "environment variables, and committed only encrypted with SOPS. Set `AGE_RECIPIENT` to your age public key first.",
    "Signing-key Secrets hold public keys only; they are committed unencrypted.",
    "",
    ...clusters.flatMap((c) => [clusterSection(spec, c, opts), ""]),
    ...tenants.flatMap((t) => [tenantSection(spec, t), ""]),
    "## After install",
    "",
    "- Every commit on the tracked branches must now be signed by a key in the signing-keys Secrets; an unsigned commit stops the sync and raises the `verification-failures` alert.",
    "- Point kube-prometheus-stack at the ConfigMap `flux-kube-state-metrics-config` (valuesFrom, key `values.yaml`) so that `gotk_resource_info` exists; the `FluxResourceMetricsAbsent` alert fires until it does.",
    "- Run `fluxguard audit .` in this repository: it should report nothing at medium or above.",
    "",
  ].join("\n");
}
