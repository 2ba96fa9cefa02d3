package beatgrid_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// forbiddenDep matches Fiber and the database driver proper (not its bson codec).
var forbiddenDep = regexp.MustCompile(`gofiber|mongo-driver(/v2)?/(mongo|x/mongo)(/|$)`)

// TestLayering holds the lines of ARCHITECTURE.md §1: only store imports the database driver,
// only handlers import Fiber, and geo, sync and the root package depend on neither, not even
// indirectly. The driver module's bson codec is not the driver: orb's maptile reaches it
// through orb/geojson, so geo may depend on go.mongodb.org/mongo-driver/v2/bson (and its
// internal packages), never on the driver proper (…/v2/mongo, …/v2/x/mongo).
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
