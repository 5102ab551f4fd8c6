package web_test

import (
	"time"

	"encoding/json"
	"io"
	"log/slog"

	"github.com/veil-id/veil/web"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

type webConfig = web.Config

func newFixedFloor(d time.Duration) *web.Floor { return web.NewFloor(d) }
