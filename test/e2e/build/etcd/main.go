//go:build tools

// Package tools pins go.etcd.io/etcd/server/v3; the binary is built with
// `go build -o etcd go.etcd.io/etcd/server/v3` from this module.
package tools

import _ "go.etcd.io/etcd/server/v3"
