#!/usr/bin/env bash
# Tests of the Beam example. It is its own Go module (so that the core
# library does not depend on Beam), which the core module's go test ./...
# does not descend into. The pipelines run on Beam's prism runner in
# process; the first build of Beam's SDK takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt: not formatted: $unformatted" >&2
	exit 1
fi
go vet ./...
go test ./...
