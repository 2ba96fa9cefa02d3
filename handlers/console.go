package handlers

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"mime"
	"net/url"
	"path"
	"strings"
	"sync"

	"github.com/beatgrid/beatgrid"
	"github.com/beatgrid/beatgrid/web"
	"github.com/gofiber/fiber/v2"
)

// The commander console (package web): public static files, no token. The page signs in
// with POST /v1/auth/login and calls the API with the access token like any client.
//
//	GET /                    index.html, revalidated every time (no-cache, ETag)
//	GET /assets/{name}       the bundles, content-hashed names, cached for a year (immutable)
//	GET /console/config.json the console's settings: the raster basemap URL if configured
type consoleHandlers struct {
	dist   fs.FS
	config []byte
	csp    string

	mu    sync.Mutex
	files map[string]*consoleFile // by path in dist, read and gzipped once
}

type consoleFile struct {
	body, gz []byte
	ctype    string
	etag     string
}

// registerConsole adds the console routes. basemapURL is a raster tile URL template
// ({z}/{x}/{y}) shown under the layers, or "" for a plain background.
func registerConsole(app *fiber.App, basemapURL string) {
	h := &consoleHandlers{dist: web.Dist(), files: map[string]*consoleFile{}}
	h.config, _ = json.Marshal(map[string]any{"basemap_url": basemapURL})
	// Everything from this origin; MapLibre runs its workers from blob: URLs and the basemap's
	// host serves tiles.
	extra := ""
	if u, err := url.Parse(basemapURL); basemapURL != "" && err == nil && u.Host != "" {
		extra = " " + u.Scheme + "://" + u.Host
	}
	h.csp = "default-src 'self'; script-src 'self'; worker-src 'self' blob:; child-src blob:; " +
		"style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:" + extra + "; connect-src 'self'" + extra +
		"; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
	app.Get("/", h.index)
	app.Get("/assets/:name", h.asset)
	app.Get("/console/config.json", h.configJSON)
}

// file returns a file of dist, read and gzipped on first use.
func (h *consoleHandlers) file(name string) (*consoleFile, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if f, ok := h.files[name]; ok {
		return f, f != nil
	}
	body, err := fs.ReadFile(h.dist, name)
	if err != nil {
		h.files[name] = nil
		return nil, false
	}
	f := &consoleFile{body: body, ctype: mime.TypeByExtension(path.Ext(name))}
	if f.ctype == "" {
		f.ctype = fiber.MIMEOctetStream
	}
	sum := sha256.Sum256(body)
	f.etag = fmt.Sprintf(`"%x"`, sum[:12])
	if len(body) > 1024 {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(body)
		if zw.Close() == nil && buf.Len() < len(body) {
			f.gz = buf.Bytes()
		}
	}
	h.files[name] = f
	return f, true
}

func (h *consoleHandlers) send(c *fiber.Ctx, f *consoleFile, cache string) error {
	c.Set(fiber.HeaderContentType, f.ctype)
	c.Set(fiber.HeaderCacheControl, cache)
	c.Set(fiber.HeaderETag, f.etag)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	if f.gz != nil {
		c.Set(fiber.HeaderVary, fiber.HeaderAcceptEncoding)
	}
	if match := c.Get(fiber.HeaderIfNoneMatch); match != "" && strings.Contains(match, f.etag) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	if f.gz != nil && strings.Contains(c.Get(fiber.HeaderAcceptEncoding), "gzip") {
		c.Set(fiber.HeaderContentEncoding, "gzip")
		return c.Send(f.gz)
	}
	return c.Send(f.body)
}

// index: GET / → the console page.
func (h *consoleHandlers) index(c *fiber.Ctx) error {
	f, ok := h.file("index.html")
	if !ok {
		return beatgrid.Errorf(beatgrid.ENOTFOUND, "This build has no console (web/dist is empty).")
	}
	c.Set(fiber.HeaderContentSecurityPolicy, h.csp)
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	c.Set(fiber.HeaderXFrameOptions, "DENY")
	return h.send(c, f, "no-cache")
}

// asset: GET /assets/{name} → a bundle; its name changes with its content.
func (h *consoleHandlers) asset(c *fiber.Ctx) error {
	name := c.Params("name")
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return beatgrid.Errorf(beatgrid.ENOTFOUND, "No such asset.")
	}
	f, ok := h.file("assets/" + name)
	if !ok {
		return beatgrid.Errorf(beatgrid.ENOTFOUND, "No such asset.")
	}
	return h.send(c, f, "public, max-age=31536000, immutable")
}

// configJSON: GET /console/config.json → {"basemap_url": …}.
func (h *consoleHandlers) configJSON(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(h.config)
}
