//go:build tools

// Package tools pins github.com/fluxcd/notification-controller; the binary is built with
// `go build github.com/fluxcd/notification-controller` from this module.
package tools

import _ "github.com/fluxcd/notification-controller"
