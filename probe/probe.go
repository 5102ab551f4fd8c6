// Package probe measures what a sign-in, sign-up or recovery endpoint leaks
// about which accounts exist. It sends the same request for identifiers that
// have accounts (class "exists") and for identifiers that cannot have one
// (class "missing"), interleaved in random order on keep-alive connections,
// records everything an attacker can observe of each answer — status, headers,
// cookies, body, length, time to first and to last byte — and tests, channel
// by channel, whether the two classes can be told apart.
//
// A content channel leaks when some answer signature is more frequent for one
// class than for the other (Fisher's exact test per signature). A timing
// channel is tested four ways: ranks (Mann-Whitney U), whole distributions
// (Kolmogorov-Smirnov), low percentiles (Crosby's box test) and the held-out
// accuracy of the best threshold an attacker could learn. In paired mode two
// requests, one of each class, travel in one packet on one HTTP/2 connection
// and the order of the answers is the signal ("timeless timing"). All tests of
// a run share one family-wise false-positive rate (Bonferroni), and a timing
// "no leak" states the smallest difference the sample could have detected.
//
// probe is a client of any web application and knows nothing of veil. It
// never follows redirects, never keeps cookies from one request to the next,
// and never sends more requests, or sends them faster, than it was told to.
package probe

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"
)

// Class is the side of the question a request is on.
type Class int

const (
	// Exists is an identifier that has an account on the target.
	Exists Class = iota
	// Missing is an identifier that has none.
	Missing
)

func (c Class) String() string {
	if c == Exists {
		return "exists"
	}
	return "missing"
}

// Target is one endpoint to probe: the request to send for an identifier and
// how to read its answer.
type Target struct {
	Name        string      // for reports; defaults to "METHOD URL"
	Preset      string      // the veil endpoint it was made for (PresetTarget), or ""
	URL         *Template   // may hold {{identifier}}, escaped for its place
	Method      string      // POST unless set
	ContentType string      // of the body; decides how identifiers are escaped
	Header      http.Header // sent with every request
	Body        *Template   // nil for no body
	Password    string      // substituted for {{password}}
	Exists      []string    // identifiers that have accounts
	Missing     []string    // identifiers that have none; may hold {{fresh}}

	// Kind is what the endpoint does to an account (KindLogin, KindSignup,
	// KindRecover), for the warning before a run and the report of what it
	// changed; "" when not known.
	Kind string
	// Steps are requests sent before each measured one (or once), not
	// measured, whose answers fill placeholders of the requests after them.
	Steps []*Step
	// HeaderTemplates are request headers whose values hold placeholders
	// filled by the steps ("X-CSRF-Token: {{csrf}}").
	HeaderTemplates []HeaderTemplate

	// FirstContact makes every missing-class request use an identifier
	// never sent before, made from a Missing one (see FreshMark): for
	// endpoints whose answer changes once they have seen an identifier —
	// a sign-up registers it, an invitation or an email change reserves
	// it — and which, measured twice on one identifier, would compare
	// registered with registered.
	FirstContact bool

	// IgnoreHeaders are response headers left out of the headers channel
	// (Date always is), for values that change on every request.
	IgnoreHeaders []string
	// Scrub are patterns for parts of bodies and header values that change on
	// every request; each match is replaced by {{scrubbed}}.
	Scrub []*regexp.Regexp
	// NoDefaultScrub drops DefaultScrub from the patterns applied.
	NoDefaultScrub bool
}

// Options bound and shape one measurement.
type Options struct {
	N           int           // measured requests per class (pairs in paired mode)
	Warmup      int           // requests sent first and discarded, with throwaway identifiers
	Rate        float64       // requests per second at most; 0 means as fast as answered
	Concurrency int           // requests in flight; 1 unless set
	Timeout     time.Duration // for one request; 10s unless set
	Pairs       bool          // HTTP/2 paired mode
	Insecure    bool          // accept any TLS certificate
	Seed        uint64        // for the random order; 0 picks one
	// Progress, if set, is called after each request with the number done
	// and the total (warm-up included). It must not block.
	Progress func(done, total int)
}

// The kinds of endpoint, by what a request does to an existing account.
const (
	KindLogin   = "login"   // counts a failed sign-in
	KindSignup  = "signup"  // creates an account, or mails its owner
	KindRecover = "recover" // mails a recovery link or code
)

// DefaultOptions are the bounds the CLI starts from.
var DefaultOptions = Options{N: 300, Warmup: 20, Rate: 100, Concurrency: 1, Timeout: 10 * time.Second}

// DefaultAlpha is the family-wise false-positive rate of a run.
const DefaultAlpha = 0.01

// MinN is the smallest sample per class the statistics are trusted at.
const MinN = 20

// maxBody bounds how much of an answer is read and compared.
const maxBody = 1 << 20

// Probe is one target with the bounds it is measured under.
type Probe struct {
	Target  *Target
	Options Options
}

// Plan is a list of probes run in one go; Alpha is shared by all of them.
type Plan struct {
	Probes []Probe
	Alpha  float64
}

// TargetError means the target could not be measured: it refused
// connections, timed out, or failed too many requests. It is not a verdict.
type TargetError struct{ Err error }

func (e *TargetError) Error() string { return "target: " + e.Err.Error() }
func (e *TargetError) Unwrap() error { return e.Err }

// Validate checks a probe before any request is sent.
func (p Probe) Validate() error {
	t, o := p.Target, p.Options
	switch {
	case t == nil || t.URL == nil:
		return errors.New("no URL")
	case len(t.Exists) == 0:
		return errors.New("no identifiers of existing accounts (--exists)")
	case len(t.Missing) == 0:
		return errors.New("no identifiers of missing accounts")
	case !t.URL.Has(fieldIdentifier) && (t.Body == nil || !t.Body.Has(fieldIdentifier)):
		return errors.New("neither the URL nor the body contains {{identifier}}")
	case o.N < MinN:
		return fmt.Errorf("n = %d: at least %d per class are needed", o.N, MinN)
	case o.Rate < 0 || o.Concurrency < 0 || o.Warmup < 0 || o.Timeout < 0:
		return errors.New("rate, concurrency, warm-up and timeout cannot be negative")
	case o.Pairs && o.Concurrency > 1:
		return errors.New("paired mode uses one connection: concurrency must be 1")
	case o.Pairs && t.URL.startsWithVar():
		return errors.New("paired mode connects before the steps run: the endpoint's URL must name its host itself")
	}
	if err := t.validateSteps(); err != nil {
		return err
	}
	exists := map[string]bool{}
	for _, id := range t.Exists {
		exists[id] = true
	}
	for _, id := range t.Missing {
		if exists[id] {
			return fmt.Errorf("%q is listed as existing and as missing", id)
		}
	}
	return nil
}

func (p Probe) withDefaults() Probe {
	o := p.Options
	if o.Concurrency == 0 {
		o.Concurrency = 1
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultOptions.Timeout
	}
	p.Options = o
	return p
}

// Name is how reports call the target.
func (t *Target) name() string {
	if t.Name != "" {
		return t.Name
	}
	return t.method() + " " + t.URL.String()
}

func (t *Target) method() string {
	if t.Method == "" {
		return http.MethodPost
	}
	return t.Method
}

// Where is the URL the warning and reports show for the target: its own,
// or, where a step's answer gives it (a form's action), the first step's.
func (t *Target) Where() string {
	if t.URL.startsWithVar() && len(t.Steps) > 0 {
		return t.Steps[0].URL.String()
	}
	return t.URL.String()
}
