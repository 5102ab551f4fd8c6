package probe

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// planStep is the TOML form of a Step: [[endpoint.step]].
type planStep struct {
	Method      string        `toml:"method"`
	URL         string        `toml:"url"`
	ContentType string        `toml:"content_type"`
	Body        string        `toml:"body"`
	Headers     []string      `toml:"headers"`
	Once        bool          `toml:"once"`
	KeepCookies bool          `toml:"keep_cookies"`
	Extract     []planExtract `toml:"extract"`
}

// planExtract is the TOML form of an Extract.
type planExtract struct {
	Name   string `toml:"name"`
	JSON   string `toml:"json"`
	Header string `toml:"header"`
	Cookie string `toml:"cookie"`
	Regex  string `toml:"regex"`
}

// parseSteps builds the steps of an endpoint; each may use the
// placeholders of the ones before it.
func parseSteps(in []planStep) ([]*Step, error) {
	var steps []*Step
	for i, ps := range in {
		vars := StepVars(steps)
		s, err := ps.step(vars)
		if err != nil {
			return nil, fmt.Errorf("step %d: %w", i+1, err)
		}
		steps = append(steps, s)
	}
	return steps, nil
}

func (ps planStep) step(vars []string) (*Step, error) {
	if ps.URL == "" {
		return nil, errors.New("no url")
	}
	u, err := ParseTemplateVars(ps.URL, vars)
	if err != nil {
		return nil, err
	}
	if !u.startsWithVar() && !strings.HasPrefix(ps.URL, "http://") && !strings.HasPrefix(ps.URL, "https://") {
		return nil, fmt.Errorf("url %q is not an http(s) URL", ps.URL)
	}
	s := &Step{Method: strings.ToUpper(ps.Method), URL: u, ContentType: ps.ContentType, Header: http.Header{},
		Once: ps.Once, KeepCookies: ps.KeepCookies}
	if ps.Body != "" {
		if s.Body, err = ParseTemplateVars(ps.Body, vars); err != nil {
			return nil, err
		}
		if s.ContentType == "" {
			s.ContentType = "application/json"
		}
		if s.Method == "" {
			s.Method = http.MethodPost
		}
	}
	if s.Header, s.HeaderTemplates, err = parseHeaders(ps.Headers, vars); err != nil {
		return nil, err
	}
	for _, pe := range ps.Extract {
		e := Extract{Name: pe.Name, JSON: pe.JSON, Header: pe.Header, Cookie: pe.Cookie}
		if pe.Regex != "" {
			if e.Regex, err = regexp.Compile(pe.Regex); err != nil {
				return nil, fmt.Errorf("extract %s: %w", pe.Name, err)
			}
		}
		s.Extract = append(s.Extract, e)
	}
	return s, nil
}

// parseHeaders parses "Name: value" lines: fixed headers, and templated ones
// where a value holds a placeholder of vars.
func parseHeaders(lines []string, vars []string) (http.Header, []HeaderTemplate, error) {
	fixed := http.Header{}
	var templated []HeaderTemplate
	for _, line := range lines {
		name, value, err := ParseHeader(line)
		if err != nil {
			return nil, nil, err
		}
		if !strings.Contains(value, "{{") {
			fixed.Add(name, value)
			continue
		}
		tv, err := ParseTemplateVars(value, vars)
		if err != nil {
			return nil, nil, fmt.Errorf("header %s: %w", name, err)
		}
		templated = append(templated, HeaderTemplate{Name: name, Value: tv})
	}
	return fixed, templated, nil
}
