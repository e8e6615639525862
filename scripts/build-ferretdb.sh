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
#
# It also keeps `_id` lookups indexed. FerretDB v1.24.2 pushes an exact {_id} filter down to
# SQLite as `WHERE _ferretdb_sjson->'$._id' = ?`, but the unique index it creates for _id is on
# the expression `_ferretdb_sjson->"_id"`, which SQLite's planner does not match: every find,
# update and delete by _id scanned the whole table (52 ms per lookup at 10,000 documents). The
# launcher adds an index on exactly the pushed-down expression to every collection table, checking
# twice a second for new ones; FerretDB's own metadata does not list it and DROP TABLE removes it.
#
# And its log handler formats a logger's attributes only when a line is written (lazyAttrs below):
# FerretDB attaches every SQL statement's arguments to a logger for a debug line it then drops.
set -euo pipefail

version="v1.24.2"
launcher_rev="4"
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
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	_ "modernc.org/sqlite"
)

// indexIDs adds an index on FerretDB's pushed-down _id expression to each collection table.
func indexIDs(dir string, logger *slog.Logger) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
	for _, file := range files {
		db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)")
		if err != nil {
			continue
		}
		rows, err := db.Query(`SELECT t.name FROM sqlite_master t WHERE t.type = 'table' AND t.name NOT LIKE 'sqlite%' AND t.name NOT LIKE '\_ferretdb\_%' ESCAPE '\' AND NOT EXISTS (SELECT 1 FROM sqlite_master i WHERE i.type = 'index' AND i.tbl_name = t.name AND i.name = t.name || '_gatehouse_id')`)
		if err == nil {
			var tables []string
			for rows.Next() {
				var name string
				if rows.Scan(&name) == nil {
					tables = append(tables, name)
				}
			}
			rows.Close()
			for _, table := range tables {
				q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS "%s_gatehouse_id" ON "%s" (_ferretdb_sjson->'$._id')`, table, table)
				if _, err := db.Exec(q); err != nil {
					logger.Warn("could not index _id", "table", table, "error", err)
				}
			}
		}
		db.Close()
	}
}

// lazyAttrs is the launcher's log handler: it formats a logger's attributes only when a record
// is written. FerretDB v1.24 calls `logger.With("args", …)` twice around every SQL statement —
// the statement's arguments, whole documents among them — for a debug line it then drops; slog's
// TextHandler formats (quotes) those attributes inside With, whatever the level: 12 % of the
// database's CPU in a run of deactivations (pprof). Here With only remembers them; the records
// written at Warn and above are rare.
type lazyAttrs struct {
	inner slog.Handler
	steps []func(slog.Handler) slog.Handler
}

func (h lazyAttrs) Enabled(ctx context.Context, level slog.Level) bool { return h.inner.Enabled(ctx, level) }

func (h lazyAttrs) Handle(ctx context.Context, record slog.Record) error {
	inner := h.inner
	for _, step := range h.steps {
		inner = step(inner)
	}
	return inner.Handle(ctx, record)
}

func (h lazyAttrs) then(step func(slog.Handler) slog.Handler) slog.Handler {
	return lazyAttrs{inner: h.inner, steps: append(h.steps[:len(h.steps):len(h.steps)], step)}
}

func (h lazyAttrs) WithAttrs(attrs []slog.Attr) slog.Handler {
	return h.then(func(inner slog.Handler) slog.Handler { return inner.WithAttrs(attrs) })
}

func (h lazyAttrs) WithGroup(name string) slog.Handler {
	return h.then(func(inner slog.Handler) slog.Handler { return inner.WithGroup(name) })
}

func main() {
	sqliteURL := flag.String("sqlite-url", "file:data/", "SQLite directory URI, ending with /")
	listen := flag.String("listen-addr", "127.0.0.1:0", "TCP address to listen on")
	flag.Parse()

	logger := slog.New(lazyAttrs{inner: slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})})
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

	if u, err := url.Parse(*sqliteURL); err == nil {
		dir := strings.TrimSuffix(u.Opaque+u.Path, "/")
		go func() {
			for {
				indexIDs(dir, logger)
				select {
				case <-ctx.Done():
					return
				case <-time.After(500 * time.Millisecond):
				}
			}
		}()
	}
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
