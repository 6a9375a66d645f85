/** The commented starter spec `fluxguard init` prints. It parses, and generates a full fleet. */
export const STARTER_SPEC = `# Fleet spec for \`fluxguard generate\` (docs/generate.md, schemas/fleet-spec.schema.json).
# Every key below except platform.repository and the tenants' name and repository has a default.
apiVersion: fluxguard.io/v1alpha1
kind: FleetSpec

platform:
  # The namespace Flux runs in.
  namespace: flux-system
  # The platform (fleet) repository, over SSH with a read-only deploy key (Weakness 3).
  repository: ssh://git@github.com/example/fleet
  branch: main
  # Who may sign commits on the fleet repository (Adversary 1, Weakness 2): a PGP fingerprint,
  # an SSH SHA256 fingerprint, or a public key file (*.asc for PGP, *.pub for SSH).
  signingKeys:
    - name: platform-team
      file: keys/platform-team.pub
  # bootstrap (flux bootstrap, with the lockdown patches) or operator (a FluxInstance).
  installer: bootstrap
  # Where platform alerts go (Weakness 6). The webhook address goes into a SOPS-encrypted Secret.
  alerts:
    type: slack
    channel: flux-platform

# Defaults every tenant inherits unless it sets its own.
defaults:
  # Images may come only from these registries (Adversary 5).
  allowedRegistries:
    - ghcr.io/example
  # What a tenant may deploy, as <group>/<resource> (least privilege; never cluster-scoped kinds).
  allowedKinds:
    - apps/deployments
    - core/configmaps
    - core/services
    - core/serviceaccounts
    - networking.k8s.io/ingresses

# One Flux instance per environment, each on its own path (Weakness 5).
clusters:
  - name: staging
    branch: main
  - name: production
    branch: main

tenants:
  - name: team-a
    # The first namespace holds the tenant's Flux objects.
    namespaces: [team-a]
    repository: ssh://git@github.com/example/team-a-apps
    # The chart below pulls its image from ghcr.io/stefanprodan, so the tenant allows it too.
    allowedRegistries: [ghcr.io/example, ghcr.io/stefanprodan]
    # {cluster} and {environment} are replaced per cluster.
    path: ./deploy/{environment}
    # Optional: image policies with a bounded semver range.
    images:
      - name: web
        image: ghcr.io/example/team-a/web
        range: ">=1.0.0 <2.0.0"
    # Optional: HelmReleases with a pinned, bounded chart version range. An oci:// chart is
    # verified before Helm sees it (Adversary 1): keyless cosign with the signer's OIDC identity
    # (issuer and subject are regular expressions), or secretName for public keys.
    charts:
      - name: podinfo
        repository: oci://ghcr.io/stefanprodan/charts
        version: ">=6.0.0 <7.0.0"
        verify:
          provider: cosign
          issuer: ^https://token\\.actions\\.githubusercontent\\.com$
          subject: ^https://github\\.com/stefanprodan/podinfo.*$
    # Where the tenant's own alerts go.
    alerts:
      type: slack
      channel: team-a
`;
