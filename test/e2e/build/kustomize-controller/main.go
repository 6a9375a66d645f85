//go:build tools

// Package tools pins github.com/fluxcd/kustomize-controller; the binary is built with
// `go build github.com/fluxcd/kustomize-controller` from this module.
package tools

import _ "github.com/fluxcd/kustomize-controller"
