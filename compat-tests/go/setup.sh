#!/usr/bin/env bash
# Installs what the Go judges (compat-tests/tests/go_clients.rs) need:
# downloads the modules pinned in go.mod / go.sum (franz-go, kadm, Sarama and
# their dependencies) into Go's module cache, and compiles the test binary
# once so the build cache is warm. Afterwards `go test` runs with
# GOPROXY=off: no network. Idempotent; uses Go's default GOPATH / GOCACHE
# (`go env GOMODCACHE GOCACHE`).
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v go >/dev/null 2>&1; then
    echo "compat-tests/go/setup.sh: the Go toolchain (go) is not on PATH; install Go 1.26 or newer" >&2
    exit 1
fi

go mod download
go mod verify >/dev/null
go vet ./...
# Compile and link the tests without running them (they need a broker).
bin_dir="$(mktemp -d)"
trap 'rm -rf "$bin_dir"' EXIT
go test -c -o "$bin_dir/compat.test" .
echo "compat-tests/go: modules downloaded and tests built ($(go version | cut -d' ' -f3))"
