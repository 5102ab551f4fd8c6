package web

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/veil-id/veil/brand"
)

// defaultBrand is the branding of a Server configured without one.
var defaultBrand = &brand.Brand{SiteName: "veil", Accent: brand.MustParseColor(brand.DefaultAccent)}

// brandCSS serves the stylesheet that applies the configured accent
// colour. The pages' CSP admits only this origin's stylesheets, so the
// operator's colour comes as a file of its own, never as an inline style;
// brand.New has checked it is exactly a hex colour.
func (s *Server) brandCSS(w http.ResponseWriter, r *http.Request) {
	css := s.brand.Stylesheet()
	h := w.Header()
	h.Set("Content-Type", "text/css; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(css)))
	w.Write([]byte(css))
}

// pageTemplates are the files the pages are parsed from: veil's own,
// embedded, with any of them replaced by a file of the same name in
// dir, when dir is not "". A file in dir that is not one of veil's
// templates is refused, so that a misspelt name does not silently leave
// the page it meant to replace as it was.
func pageTemplates(dir string) (fs.FS, error) {
	base, err := fs.Sub(templateFiles, "templates")
	if err != nil {
		return nil, err
	}
	if dir == "" {
		return base, nil
	}
	own, err := fs.Glob(base, "*.html")
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("the templates directory: %w", err)
	}
	for _, e := range entries {
		if name := e.Name(); !e.IsDir() && path.Ext(name) == ".html" && !slices.Contains(own, name) {
			return nil, fmt.Errorf("the templates directory has %s, which is not one of veil's templates (%s)", name, strings.Join(own, ", "))
		}
	}
	return overlayFS{top: os.DirFS(dir), base: base}, nil
}

// overlayFS opens a file from top if it has it, else from base.
type overlayFS struct{ top, base fs.FS }

func (o overlayFS) Open(name string) (fs.File, error) {
	f, err := o.top.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return o.base.Open(name)
	}
	return f, err
}
