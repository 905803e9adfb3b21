// Package compat holds the Go clients' compatibility tests: franz-go (kgo and
// kadm) and IBM Sarama, unmodified, against a running MemoryStreamer broker
// named by the COMPAT_KAFKA_BOOTSTRAP environment variable.
//
// The Rust driver compat-tests/tests/go_clients.rs starts the broker and runs
// `go test -count=1 ./...` here; setup.sh downloads the pinned modules and
// pre-builds the test binary so the run needs no network.
//
// This package is tests only: it has no code a program would import.
package compat
