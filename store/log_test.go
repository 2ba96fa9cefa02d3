package store

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// counted is an attribute value that counts how often it is formatted.
type counted struct{ n *int }

func (c counted) LogValue() slog.Value { *c.n++; return slog.StringValue("the document") }

// TestLevelFilterDefersAttrs: attributes of FerretDB's loggers are formatted only for the
// records that are logged, and then they are all there.
func TestLevelFilterDefersAttrs(t *testing.T) {
	var buf bytes.Buffer
	n := 0
	l := slog.New(levelFilter{inner: slog.NewTextHandler(&buf, nil), min: slog.LevelError}).
		With("component", "ferretdb").WithGroup("sql").With("doc", counted{&n})
	for range 100 {
		l.Info("statement")
		l.Debug("statement")
	}
	if n != 0 || buf.Len() != 0 {
		t.Fatalf("dropped records formatted their attributes %d times: %q", n, buf.String())
	}
	l.Error("failed", "code", 7)
	out := buf.String()
	if n != 1 || !strings.Contains(out, "component=ferretdb") || !strings.Contains(out, `sql.doc="the document"`) || !strings.Contains(out, "sql.code=7") {
		t.Fatalf("logged record %q (formatted %d times)", out, n)
	}
}
