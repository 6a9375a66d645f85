//go:build tools

// Package tools pins k8s.io/kube-state-metrics/v2 (v2.15.0: the newest version the module
// proxy serves with a checksum); built with `go build -o kube-state-metrics k8s.io/kube-state-metrics/v2`
// for `npm run bench -- monitor` (the custom-resource-state route to gotk_resource_info, beside the monitor).
package tools

import _ "k8s.io/kube-state-metrics/v2"
