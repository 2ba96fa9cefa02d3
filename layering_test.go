package beatgrid_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// forbiddenDep matches Fiber and anything of the database driver's module.
var forbiddenDep = regexp.MustCompile(`gofiber|mongo-driver`)

// TestLayering holds the lines of ARCHITECTURE.md §1: only store imports the database driver,
// only handlers import Fiber, and geo, sync and the root package depend on neither, not even
// indirectly — not even on the driver module's bson codec, which orb/geojson (and so
// orb/maptile) imports: geo keeps its own tile type.
func TestLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	owners := map[string]string{"go.mongodb.org/mongo-driver": "/store", "github.com/gofiber/fiber": "/handlers"}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, " ")
		for _, imp := range strings.Fields(imports) {
			for dep, owner := range owners {
				if strings.HasPrefix(imp, dep) && !strings.Contains(pkg, owner) {
					t.Errorf("%s imports %s; only %s may", pkg, imp, owner)
				}
			}
		}
	}
	for _, dir := range []string{".", "./geo/...", "./sync/..."} {
		if _, err := os.Stat(strings.TrimSuffix(dir, "/...")); err != nil {
			continue // not written yet
		}
		deps, err := exec.Command("go", "list", "-deps", dir).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", dir, err)
		}
		for _, d := range strings.Fields(string(deps)) {
			if forbiddenDep.MatchString(d) {
				t.Errorf("%s depends on %s", dir, d)
			}
		}
	}
}
