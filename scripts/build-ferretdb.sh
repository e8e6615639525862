#!/usr/bin/env bash
# Builds the embedded MongoDB-compatible server (FerretDB v1.24.2 with its SQLite backend) from
# the Go module proxy, once per machine, and caches the binary. Prints the binary's path.
#
# FerretDB is embedded through its public `ferretdb` package in a throw-away main module: a
# binary built from its own cmd/ferretdb outside FerretDB's repository panics at start, because
# the published module lacks the generated build/version/version.txt (FerretDB#2982).
#
# The small launcher below listens on a loopback port chosen by the kernel, prints the address
# as one line ("listening <uri>"), and exits when its standard input closes, so the embedded
# database never outlives the Node process that started it.
set -euo pipefail

version="v1.24.2"
launcher_rev="2"
cache="${GATEHOUSE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse}"
bin="$cache/ferretdb-$version-r$launcher_rev"

if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || {
  echo "build-ferretdb: Go (>= 1.24) is needed to build the embedded database; or set MONGODB_URI" >&2
  exit 1
}

mkdir -p "$cache"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/main.go" <<'GO'
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	sqliteURL := flag.String("sqlite-url", "file:data/", "SQLite directory URI, ending with /")
	listen := flag.String("listen-addr", "127.0.0.1:0", "TCP address to listen on")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Handler:   "sqlite",
		SQLiteURL: *sqliteURL,
		Logger:    logger,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// The parent holds our stdin open; when it goes away, so do we.
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop()
	}()

	done := make(chan struct{})
	go func() {
		_ = f.Run(ctx)
		close(done)
	}()
	fmt.Printf("listening %s\n", f.MongoDBURI())
	<-done
}
GO
(
  cd "$work"
  export GOFLAGS=-mod=mod GOTOOLCHAIN=local
  go mod init local/gatehouse-ferretdb >/dev/null 2>&1
  go get "github.com/FerretDB/FerretDB@$version" >&2
  CGO_ENABLED=0 go build -trimpath -o ferretdb . >&2
  mv ferretdb "$bin.tmp"
)
mv "$bin.tmp" "$bin"
echo "$bin"
