package handlers_test

import (
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func init() {
	// The console: public static files.
	scopeTable["GET /"] = publicRoute(200)
	scopeTable["GET /console/config.json"] = publicRoute(200)
	scopeTable["GET /assets/:name"] = publicRoute(404) // the literal name ":name" is no asset
}

// TestConsoleServed: the page is public and revalidated, names hashed bundles that are
// cached for a year and gzipped, and the API stays behind tokens.
func TestConsoleServed(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/", nil, "")
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("index Cache-Control %q", cc)
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("index CSP %q", csp)
	}
	if r2 := e.doHeaders("GET", "/", map[string]string{"If-None-Match": r.Header.Get("ETag")}); r2.Status != 304 {
		t.Errorf("revalidation with the ETag: %d", r2.Status)
	}
	assets := regexp.MustCompile(`/assets/(main-[A-Z0-9]+\.(js|css))`).FindAllStringSubmatch(string(r.Body), -1)
	if len(assets) != 2 {
		t.Fatalf("index names %d assets", len(assets))
	}
	for _, a := range assets {
		plain := e.do("GET", "/assets/"+a[1], nil, "")
		if plain.Status != 200 || plain.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Errorf("%s: %d, Cache-Control %q", a[1], plain.Status, plain.Header.Get("Cache-Control"))
		}
		wantType := map[string]string{"js": "text/javascript", "css": "text/css"}[a[2]]
		if !strings.HasPrefix(plain.Header.Get("Content-Type"), wantType) {
			t.Errorf("%s: Content-Type %q", a[1], plain.Header.Get("Content-Type"))
		}
		gz := e.doHeaders("GET", "/assets/"+a[1], map[string]string{"Accept-Encoding": "gzip"})
		if gz.Status != 200 || gz.Header.Get("Content-Encoding") != "gzip" || len(gz.Body) >= len(plain.Body) {
			t.Errorf("%s gzipped: %d %q, %d of %d bytes", a[1], gz.Status, gz.Header.Get("Content-Encoding"), len(gz.Body), len(plain.Body))
		}
	}
	for _, bad := range []string{"/assets/nope.js", "/assets/..%2Fweb.go", "/assets/.hidden"} {
		if r := e.do("GET", bad, nil, ""); r.Status != 404 {
			t.Errorf("GET %s: %d", bad, r.Status)
		}
	}
	c := e.do("GET", "/console/config.json", nil, "")
	if c.Status != 200 || !strings.Contains(string(c.Body), `"basemap_url":""`) {
		t.Errorf("config: %d %s", c.Status, c.Body)
	}
	if r := e.do("GET", "/v1/coverage/beats", nil, ""); r.Status != 401 {
		t.Errorf("the API without a token: %d", r.Status)
	}
}

// doHeaders sends a GET or HEAD with the given headers and no token.
func (e *env) doHeaders(method, path string, headers map[string]string) *response {
	e.t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return e.request(req)
}
