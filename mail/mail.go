// Package mail renders the mail veil sends: for each kind of mail in the veil
// package (MailSignupConfirm, MailSignupExisting, ...) a fixed subject, a
// plain-text part and an HTML part, from templates embedded in the binary.
//
// Every mail is written in the language of MailData.Lang — the language of
// the request that caused it, never the account's — from the message
// catalogs of package locale; the HTML part takes the operator's accent
// colour (package brand), checked once in NewRenderer.
//
// It only renders; sending is the job of a veil.Mailer (package smtp or
// devmail), and deciding which kind of mail an address gets is the job of the
// flows in package veil. This package must never let data reach a header:
// subjects are fixed per kind and language (with the operator's site name,
// checked once in NewRenderer), and the links, which come with tokens, only ever go into the
// bodies. The HTML part must never load anything remote (no images, fonts or
// tracking pixels): opening a mail must not tell anyone that it was opened.
package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	texttemplate "text/template"
	"unicode"
	"unicode/utf8"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/brand"
	"github.com/veil-id/veil/locale"
)

//go:embed templates/*
var templateFS embed.FS

// ExpiresLayout is how a link's expiry is written in a mail: in UTC, with the
// zone spelled out, because the renderer cannot know the reader's zone.
const ExpiresLayout = "2006-01-02 15:04 UTC"

// maxURLBytes bounds a link; a longer one is a bug, not a link.
const maxURLBytes = 2048

// needs says which MailData fields a kind of mail cannot do without.
type needs int

const (
	needLink    needs = 1 << iota // Link and Expires
	needAccount                   // SignInURL and ResetURL
	needCode                      // Code
)

// kindSpec is what is fixed about one kind of mail.
type kindSpec struct {
	subject string // an English message of package locale, with {{.Site}}
	needs   needs
}

// kinds lists every kind of mail the renderer knows. Subjects are constants
// (translated): nothing from MailData but its language ever reaches a
// header.
var kinds = map[string]kindSpec{
	veil.MailSignupConfirm:   {"Confirm your email address for {{.Site}}", needLink},
	veil.MailSignupExisting:  {"You already have an account with {{.Site}}", needAccount},
	veil.MailRecoverReset:    {"Reset your {{.Site}} password", needLink},
	veil.MailRecoverUnknown:  {"Password reset request for {{.Site}}", 0},
	veil.MailPasswordChanged: {"Your {{.Site}} password was changed", needAccount},

	veil.MailEmailChangeConfirm: {"Confirm your new email address for {{.Site}}", needLink},
	veil.MailEmailChangeTaken:   {"This address already has an account with {{.Site}}", needAccount},
	veil.MailEmailChanged:       {"The email address of your {{.Site}} account was changed", needLink},
	veil.MailLoginCode:          {"Your {{.Site}} sign-in code", needLink | needCode},
	veil.MailAccountDeleted:     {"Your {{.Site}} account has been deleted", 0},
}

// kindTemplates are the parsed templates of one kind of mail.
type kindTemplates struct {
	subject string
	needs   needs
	text    *texttemplate.Template
	html    *htmltemplate.Template
}

// Renderer renders every kind of mail veil sends. It is safe for concurrent
// use.
type Renderer struct {
	siteName string
	colors   colors
	kinds    map[string]*kindTemplates
}

// colors are the accent colour of the HTML part and those derived from it
// (see package brand), as #rrggbb.
type colors struct{ accent, onAccent, link string }

func colorsOf(accent brand.Color) colors {
	return colors{accent.String(), brand.OnColor(accent).String(), brand.Readable(accent, brand.MustParseColor(brand.LightSurface), brand.AA).String()}
}

// Option changes a Renderer.
type Option func(*Renderer)

// WithAccent draws buttons and links in the accent colour of the pages
// (brand.DefaultAccent without it).
func WithAccent(c brand.Color) Option { return func(r *Renderer) { r.colors = colorsOf(c) } }

var _ veil.MailRenderer = (*Renderer)(nil)

// NewRenderer parses the embedded templates. siteName is how mails name the
// service ("Example Corp accounts"); it goes into subjects, so it must be
// one line of printable text, at most 100 bytes. Errors are EINVALID for a
// bad site name and EINTERNAL for a template that does not parse.
func NewRenderer(siteName string, opts ...Option) (*Renderer, error) {
	if err := brand.CheckSiteName(siteName); err != nil {
		return nil, veil.Errorf(veil.EINVALID, "The site name is not valid: %v.", err)
	}
	textBase, err := texttemplate.New("").Funcs(textFuncs).ParseFS(templateFS, "templates/layout.txt")
	if err != nil {
		return nil, internal("parsing the text layout", err)
	}
	htmlBase, err := htmltemplate.New("").ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, internal("parsing the HTML layout", err)
	}
	r := &Renderer{siteName: siteName, colors: colorsOf(brand.MustParseColor(brand.DefaultAccent)), kinds: make(map[string]*kindTemplates, len(kinds))}
	for _, o := range opts {
		o(r)
	}
	for kind, spec := range kinds {
		kt := &kindTemplates{subject: spec.subject, needs: spec.needs}
		if kt.text, err = texttemplate.Must(textBase.Clone()).ParseFS(templateFS, "templates/"+kind+".txt"); err != nil {
			return nil, internal("parsing the text template of "+kind, err)
		}
		if kt.html, err = htmltemplate.Must(htmlBase.Clone()).ParseFS(templateFS, "templates/"+kind+".html"); err != nil {
			return nil, internal("parsing the HTML template of "+kind, err)
		}
		r.kinds[kind] = kt
	}
	return r, nil
}

// button is what the HTML "button" template shows: a link drawn as a
// button, followed by the same link written out for mail clients that hide
// buttons.
type button struct {
	URL, Label, Fallback string
	Accent, OnAccent     string
	LinkColor            string
}

// textFuncs are the text part's: wrap breaks a translated paragraph into
// lines of at most 72 columns, as mail is read.
var textFuncs = texttemplate.FuncMap{"wrap": wrap}

// wrap breaks s at spaces into lines of at most 72 characters (a longer
// word keeps a line of its own).
func wrap(s string) string {
	const width = 72
	var b strings.Builder
	n := 0
	for i, w := range strings.Fields(s) {
		l := utf8.RuneCountInString(w)
		switch {
		case i == 0:
		case n+1+l > width:
			b.WriteByte('\n')
			n = 0
		default:
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += l
	}
	return b.String()
}

// templateData is what the templates see: only checked values.
type templateData struct {
	Lang      string
	SiteName  string
	Subject   string
	Link      string
	Expires   string // ExpiresLayout, in UTC
	SignInURL string
	ResetURL  string
	Name      string // the display name of the account, for the greeting
	Code      string // a sign-in code
	LinkColor string
	colors    colors
}

// T translates msg (an English message of package locale) into the mail's
// language, with the site name and the expiry for {{.Site}} and
// {{.Expires}}.
func (d *templateData) T(msg string) string {
	return locale.Translate(d.Lang, msg, "Site", d.SiteName, "Expires", d.Expires)
}

// Greeting opens a mail: by the account's display name when the mail is
// about an account that has one, else a plain "Hello,".
func (d *templateData) Greeting() string {
	if d.Name == "" {
		return d.T("Hello,")
	}
	return locale.Translate(d.Lang, "Hello {{.Name}},", "Name", d.Name)
}

// Button is a button to url labelled label (translated).
func (d *templateData) Button(url, label string) button {
	return button{URL: url, Label: d.T(label), Fallback: d.T("If the button does not work, copy this address into your browser:"),
		Accent: d.colors.accent, OnAccent: d.colors.onAccent, LinkColor: d.colors.link}
}

// RenderMail renders d into a message to d.To. Errors are EINVALID for an
// unknown kind, a missing recipient, or a link the kind needs that is
// missing or not an absolute http(s) URL; EINTERNAL if a template fails.
// d.SiteName is ignored: the renderer's own, checked site name is used. A
// d.Lang that is not one of locale.Codes is English.
func (r *Renderer) RenderMail(d *veil.MailData) (*veil.Message, error) {
	if d == nil {
		return nil, veil.Errorf(veil.EINVALID, "The mail data is missing.")
	}
	kt, ok := r.kinds[d.Kind]
	if !ok {
		return nil, veil.Errorf(veil.EINVALID, "Unknown mail kind %q.", d.Kind)
	}
	if d.To == "" {
		return nil, veil.Errorf(veil.EINVALID, "The mail %s has no recipient.", d.Kind)
	}
	data, err := r.templateData(d, kt)
	if err != nil {
		return nil, err
	}
	var text, html bytes.Buffer
	if err := kt.text.ExecuteTemplate(&text, "layout", data); err != nil {
		return nil, internal("rendering the text part of "+d.Kind, err)
	}
	if err := kt.html.ExecuteTemplate(&html, "layout", data); err != nil {
		return nil, internal("rendering the HTML part of "+d.Kind, err)
	}
	return &veil.Message{To: d.To, Subject: data.Subject, Text: text.String(), HTML: html.String()}, nil
}

// templateData checks the fields kt needs and returns what its templates
// see. Fields a kind does not need are left out, so they cannot show up by
// accident.
func (r *Renderer) templateData(d *veil.MailData, kt *kindTemplates) (*templateData, error) {
	lang := d.Lang
	if !locale.Supported(lang) {
		lang = locale.Default
	}
	data := &templateData{Lang: lang, SiteName: r.siteName, Subject: locale.Translate(lang, kt.subject, "Site", r.siteName),
		LinkColor: r.colors.link, colors: r.colors}
	data.Name = d.Name
	if kt.needs&needCode != 0 {
		if _, err := veil.NormalizeLoginCode(d.Code); err != nil || d.Code == "" {
			return nil, veil.Errorf(veil.EINVALID, "The mail %s needs a sign-in code.", d.Kind)
		}
		data.Code = d.Code
	}
	if kt.needs&needLink != 0 {
		if err := checkURL(d.Kind, "link", d.Link); err != nil {
			return nil, err
		}
		if d.Expires.IsZero() {
			return nil, veil.Errorf(veil.EINVALID, "The mail %s needs the time its link expires.", d.Kind)
		}
		data.Link = d.Link
		data.Expires = d.Expires.UTC().Format(ExpiresLayout)
	}
	if kt.needs&needAccount != 0 {
		if err := checkURL(d.Kind, "sign-in URL", d.SignInURL); err != nil {
			return nil, err
		}
		if err := checkURL(d.Kind, "reset URL", d.ResetURL); err != nil {
			return nil, err
		}
		data.SignInURL = d.SignInURL
		data.ResetURL = d.ResetURL
	}
	return data, nil
}

// checkURL accepts an absolute http or https URL without spaces or control
// characters, so it reads as one unbroken link in the text part and can
// never be a javascript: or data: link in the HTML part.
func checkURL(kind, field, s string) error {
	if s == "" {
		return veil.Errorf(veil.EINVALID, "The mail %s needs a %s.", kind, field)
	}
	bad := veil.Errorf(veil.EINVALID, "The %s of the mail %s must be an absolute http or https URL.", field, kind)
	if len(s) > maxURLBytes || !utf8.ValidString(s) {
		return bad
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return bad
		}
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bad
	}
	return nil
}

// internal wraps a template failure: a bug in this package, never the
// caller's fault.
func internal(what string, err error) error {
	return &veil.Error{Code: veil.EINTERNAL, Message: "The mail could not be rendered.", Cause: fmt.Errorf("mail: %s: %w", what, err)}
}

// Kinds returns the kinds of mail the renderer knows, for tests and tools
// that want to render each one.
func Kinds() []string {
	return []string{
		veil.MailSignupConfirm,
		veil.MailSignupExisting,
		veil.MailRecoverReset,
		veil.MailRecoverUnknown,
		veil.MailPasswordChanged,
		veil.MailEmailChangeConfirm,
		veil.MailEmailChangeTaken,
		veil.MailEmailChanged,
		veil.MailLoginCode,
		veil.MailAccountDeleted,
	}
}
