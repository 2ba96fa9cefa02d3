package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// inputsHash is build.mjs's inputsHash: sha256 over "path\0sha256(content)\n" of src/**,
// build.mjs, package.json and package-lock.json, sorted by path.
func inputsHash(t *testing.T) string {
	t.Helper()
	files := []string{"build.mjs", "package.json", "package-lock.json"}
	err := filepath.WalkDir("src", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, filepath.ToSlash(p))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		fmt.Fprintf(h, "%s\x00%s\n", f, hex.EncodeToString(sum[:]))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestDistUpToDate fails when web/src (or the build or its locked dependencies) changed
// since dist/ was built: run `npm ci && npm run build` in web/ and commit dist/. CI also
// rebuilds and compares the bytes (.ci/run).
func TestDistUpToDate(t *testing.T) {
	b, err := fs.ReadFile(Dist(), "inputs.sha256")
	if err != nil {
		t.Fatalf("dist has no inputs.sha256: run npm run build in web/ (%v)", err)
	}
	if got, want := strings.TrimSpace(string(b)), inputsHash(t); got != want {
		t.Fatalf("web/dist was built from other sources (%s, sources now %s): run `npm ci && npm run build` in web/", got, want)
	}
}

// TestDistComplete: index.html names the bundles by content hash and they are embedded.
func TestDistComplete(t *testing.T) {
	index, err := fs.ReadFile(Dist(), "index.html")
	if err != nil {
		t.Fatal(err)
	}
	refs := regexp.MustCompile(`/assets/([A-Za-z0-9._-]+)`).FindAllStringSubmatch(string(index), -1)
	if len(refs) != 2 {
		t.Fatalf("index.html names %d assets, want a script and a stylesheet", len(refs))
	}
	for _, r := range refs {
		if !regexp.MustCompile(`^main-[A-Z0-9]{8}\.(js|css)$`).MatchString(r[1]) {
			t.Errorf("asset %s has no content hash in its name", r[1])
		}
		if _, err := fs.Stat(Dist(), "assets/"+r[1]); err != nil {
			t.Errorf("index.html names %s, which dist lacks", r[1])
		}
	}
	if strings.Contains(string(index), "%JS%") || strings.Contains(string(index), "http://") || strings.Contains(string(index), "https://") {
		t.Error("index.html has a placeholder or an outside URL")
	}
}
