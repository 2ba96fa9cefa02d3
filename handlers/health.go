package handlers

import (
	"context"
	"time"

	"github.com/beatgrid/beatgrid"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type health struct {
	db      Pinger
	m       *metrics
	openapi []byte
}

// alive answers while the process runs.
func (h *health) alive(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

// ready answers 200 when the database answers a ping, 503 otherwise.
func (h *health) ready(c *fiber.Ctx) error {
	if err := h.ping(c.UserContext()); err != nil {
		return beatgrid.Errorf(beatgrid.EUNAVAILABLE, "The database does not answer.")
	}
	return c.JSON(fiber.Map{"status": "ready"})
}

func (h *health) ping(ctx context.Context) error {
	start := time.Now()
	err := h.db.Ping(ctx)
	h.m.observePing(time.Since(start), err)
	return err
}

// metrics serves Prometheus metrics; each scrape pings the database first.
func (h *health) metrics(c *fiber.Ctx) error {
	_ = h.ping(c.UserContext())
	return adaptor.HTTPHandler(promhttp.HandlerFor(h.m.reg, promhttp.HandlerOpts{}))(c)
}

// spec serves the OpenAPI document.
func (h *health) spec(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "application/yaml")
	return c.Send(h.openapi)
}
