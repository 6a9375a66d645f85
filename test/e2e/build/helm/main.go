//go:build tools

// Package tools pins helm.sh/helm/v4; the binary is built with
// `go build -o helm helm.sh/helm/v4/cmd/helm` from this module (chart lint and template).
package tools

import _ "helm.sh/helm/v4/cmd/helm"
