package handlers_test

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/beatgrid/beatgrid/docs"
	"go.yaml.in/yaml/v4"
)

// oaMethods are the operation keys of an OpenAPI path item.
var oaMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// oaDoc parses the embedded OpenAPI document.
func oaDoc(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(docs.OpenAPI, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml does not parse: %v", err)
	}
	if doc == nil {
		t.Fatal("docs/openapi.yaml is empty")
	}
	return doc
}

// oaOperation is one (method, path) of the spec.
type oaOperation struct {
	Method string // upper case
	Path   string // OpenAPI form: /v1/org-units/{id}
	Op     map[string]any
}

func (o oaOperation) String() string { return o.Method + " " + o.Path }

// oaOperations lists the operations of doc, sorted by path and method.
func oaOperations(t *testing.T, doc map[string]any) []oaOperation {
	t.Helper()
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		t.Fatal("the spec has no paths object")
	}
	var ops []oaOperation
	for path, item := range paths {
		m, ok := item.(map[string]any)
		if !ok {
			t.Errorf("path %s is not an object", path)
			continue
		}
		for _, method := range oaMethods {
			if v, ok := m[method]; ok {
				op, ok := v.(map[string]any)
				if !ok {
					t.Errorf("%s %s is not an object", method, path)
					continue
				}
				ops = append(ops, oaOperation{Method: strings.ToUpper(method), Path: path, Op: op})
			}
		}
	}
	slices.SortFunc(ops, func(a, b oaOperation) int { return strings.Compare(a.String(), b.String()) })
	return ops
}

// oaFiberParam matches a Fiber path parameter: ":id", ":id?", ":id<int>".
var oaFiberParam = regexp.MustCompile(`:([A-Za-z0-9_]+)(<[^>]*>)?\??`)

// oaAppRoutes lists the app's routes as "METHOD /openapi/{path}", without middleware and
// without the HEAD routes Fiber adds for each GET (unless the spec declares them).
func oaAppRoutes(e *env, spec map[string]bool) map[string]bool {
	all := map[string]bool{}
	for _, r := range e.app.GetRoutes(true) {
		if r.Method == "USE" {
			continue
		}
		all[r.Method+" "+oaFiberParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	out := map[string]bool{}
	for k := range all {
		if path, ok := strings.CutPrefix(k, "HEAD "); ok && all["GET "+path] && !spec[k] {
			continue // Fiber's automatic HEAD for a GET
		}
		out[k] = true
	}
	return out
}

func oaSortedKeys(m map[string]bool) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// TestOpenAPIMatchesRoutes checks that the spec documents every route the app registers, and
// nothing else.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := newEnv(t)
	spec := map[string]bool{}
	for _, op := range oaOperations(t, oaDoc(t)) {
		spec[op.String()] = true
	}
	app := oaAppRoutes(e, spec)
	var notInSpec, notInApp []string
	for _, k := range oaSortedKeys(app) {
		if !spec[k] {
			notInSpec = append(notInSpec, k)
		}
	}
	for _, k := range oaSortedKeys(spec) {
		if !app[k] {
			notInApp = append(notInApp, k)
		}
	}
	if len(notInSpec) > 0 {
		t.Errorf("routes the app registers that docs/openapi.yaml lacks:\n\t%s", strings.Join(notInSpec, "\n\t"))
	}
	if len(notInApp) > 0 {
		t.Errorf("operations in docs/openapi.yaml the app does not register:\n\t%s", strings.Join(notInApp, "\n\t"))
	}
	if len(app) == 0 {
		t.Error("the app registers no routes")
	}
}

// TestOpenAPIServed checks that the document is served, public, as YAML, byte for byte.
func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/v1/openapi.yaml", nil, "")
	if r.Status != 200 {
		t.Fatalf("GET /v1/openapi.yaml: status %d; body %s", r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/yaml" {
		t.Errorf("content type %q, want application/yaml", ct)
	}
	if len(docs.OpenAPI) == 0 || !bytes.Equal(r.Body, docs.OpenAPI) {
		t.Errorf("served %d bytes, not the %d embedded bytes of docs/openapi.yaml", len(r.Body), len(docs.OpenAPI))
	}
}

// TestOpenAPIValid checks the document's shape without a full validator: version, unique
// operation ids, resolvable references, path parameters, and that the security it declares
// matches what the app does without a token.
func TestOpenAPIValid(t *testing.T) {
	doc := oaDoc(t)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi is %q, want 3.1.x", v)
	}
	info, _ := doc["info"].(map[string]any)
	if s, _ := info["title"].(string); s == "" {
		t.Error("info.title is missing")
	}
	if s, _ := info["version"].(string); s == "" {
		t.Error("info.version is missing")
	}

	// Every $ref is a local reference to a component that exists.
	oaWalkRefs(doc, "#", func(at string, ref string) {
		if !strings.HasPrefix(ref, "#/components/") {
			t.Errorf("%s: $ref %q does not point into #/components/", at, ref)
			return
		}
		if _, err := oaResolve(doc, ref); err != nil {
			t.Errorf("%s: $ref %q: %v", at, ref, err)
		}
	})

	// The bearer scheme, and the global default.
	schemes, _ := oaDig(doc, "components", "securitySchemes").(map[string]any)
	bearer, _ := schemes["bearerAuth"].(map[string]any)
	if bearer["type"] != "http" || bearer["scheme"] != "bearer" {
		t.Errorf("components.securitySchemes.bearerAuth = %v, want type http, scheme bearer", bearer)
	}
	global, hasGlobal := doc["security"]
	if !hasGlobal || !oaRequiresBearer(global) {
		t.Errorf("global security = %v, want bearerAuth", global)
	}

	tags := map[string]bool{}
	for _, tg := range oaList(doc["tags"]) {
		if m, ok := tg.(map[string]any); ok {
			tags[fmt.Sprint(m["name"])] = true
		}
	}

	ids := map[string]string{}
	ops := oaOperations(t, doc)
	paths, _ := doc["paths"].(map[string]any)
	for _, o := range ops {
		id, _ := o.Op["operationId"].(string)
		switch {
		case id == "":
			t.Errorf("%s has no operationId", o)
		case ids[id] != "":
			t.Errorf("%s: operationId %q is also used by %s", o, id, ids[id])
		default:
			ids[id] = o.String()
		}
		if s, _ := o.Op["summary"].(string); s == "" {
			t.Errorf("%s has no summary", o)
		}
		opTags := oaList(o.Op["tags"])
		if len(opTags) == 0 {
			t.Errorf("%s has no tags", o)
		}
		for _, tg := range opTags {
			if !tags[fmt.Sprint(tg)] {
				t.Errorf("%s: tag %v is not declared in the top-level tags", o, tg)
			}
		}
		responses, _ := o.Op["responses"].(map[string]any)
		ok2xx := false
		for code := range responses {
			if n, err := strconv.Atoi(code); err == nil && n >= 200 && n < 300 {
				ok2xx = true
			}
		}
		if !ok2xx {
			t.Errorf("%s declares no 2xx response", o)
		}

		// Each {name} of the path is a declared, required path parameter.
		declared := map[string]bool{}
		item, _ := paths[o.Path].(map[string]any)
		for _, p := range append(oaList(item["parameters"]), oaList(o.Op["parameters"])...) {
			pm, _ := p.(map[string]any)
			if ref, ok := pm["$ref"].(string); ok {
				r, err := oaResolve(doc, ref)
				if err != nil {
					continue // reported above
				}
				pm, _ = r.(map[string]any)
			}
			if pm["in"] == "path" {
				if pm["required"] != true {
					t.Errorf("%s: path parameter %v is not required", o, pm["name"])
				}
				declared[fmt.Sprint(pm["name"])] = true
			}
		}
		for _, m := range regexp.MustCompile(`\{([^}]+)\}`).FindAllStringSubmatch(o.Path, -1) {
			if !declared[m[1]] {
				t.Errorf("%s: path parameter %q is not declared", o, m[1])
			}
		}
	}

	// The security each operation declares matches the app: a route that answers 401 to a
	// request without a token requires bearerAuth; any other is public (security: []).
	e := newEnv(t)
	spec := map[string]bool{}
	for _, o := range ops {
		spec[o.String()] = true
	}
	registered := oaAppRoutes(e, spec)
	for _, o := range ops {
		if !registered[o.String()] {
			continue // TestOpenAPIMatchesRoutes reports it
		}
		sec, own := o.Op["security"]
		if !own {
			sec = global
		}
		path := strings.ReplaceAll(o.Path, "{id}", "00000000-0000-7000-8000-000000000000")
		r := e.request(httptest.NewRequest(o.Method, path, nil))
		switch {
		case r.Status == 401 && !oaRequiresBearer(sec):
			t.Errorf("%s answers 401 without a token but its security is %v; declare bearerAuth", o, sec)
		case r.Status != 401 && !oaAllowsAnonymous(sec):
			t.Errorf("%s is public (status %d without a token) but its security is %v; declare security: []", o, r.Status, sec)
		}
	}
}

// oaRequiresBearer reports whether a security requirement list demands bearerAuth in every
// alternative.
func oaRequiresBearer(sec any) bool {
	list := oaList(sec)
	if len(list) == 0 {
		return false
	}
	for _, req := range list {
		m, _ := req.(map[string]any)
		if _, ok := m["bearerAuth"]; !ok {
			return false
		}
	}
	return true
}

// oaAllowsAnonymous reports whether a security requirement list lets a caller without any
// credential in: empty, or with an empty alternative.
func oaAllowsAnonymous(sec any) bool {
	list := oaList(sec)
	if len(list) == 0 {
		return true
	}
	for _, req := range list {
		if m, _ := req.(map[string]any); len(m) == 0 {
			return true
		}
	}
	return false
}

func oaList(v any) []any {
	l, _ := v.([]any)
	return l
}

func oaDig(v any, keys ...string) any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

// oaWalkRefs calls f for every "$ref" string in v; at is a JSON pointer to where it is.
func oaWalkRefs(v any, at string, f func(at, ref string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if s, ok := c.(string); ok && k == "$ref" {
				f(at, s)
				continue
			}
			oaWalkRefs(c, at+"/"+strings.NewReplacer("~", "~0", "/", "~1").Replace(k), f)
		}
	case []any:
		for i, c := range x {
			oaWalkRefs(c, at+"/"+strconv.Itoa(i), f)
		}
	}
}

// oaResolve follows a local JSON pointer reference ("#/components/schemas/User").
func oaResolve(doc map[string]any, ref string) (any, error) {
	ptr, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("not a local reference")
	}
	var v any = doc
	for _, tok := range strings.Split(ptr, "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch x := v.(type) {
		case map[string]any:
			c, ok := x[tok]
			if !ok {
				return nil, fmt.Errorf("no %q", tok)
			}
			v = c
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil, fmt.Errorf("no index %q", tok)
			}
			v = x[i]
		default:
			return nil, fmt.Errorf("%q is below a scalar", tok)
		}
	}
	if v == nil {
		return nil, fmt.Errorf("resolves to null")
	}
	return v, nil
}
