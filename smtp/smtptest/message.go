package smtptest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strings"
)

// maxPartDepth bounds how deeply nested multiparts are read.
const maxPartDepth = 4

// Message is one mail the server accepted.
type Message struct {
	From     string   // the envelope sender (MAIL FROM)
	To       []string // the envelope recipients (RCPT TO)
	TLS      bool     // whether the transaction ran over TLS
	AuthUser string   // the user the client authenticated as, or ""
	UTF8     bool     // whether MAIL FROM carried SMTPUTF8

	Raw     []byte      // the message data as received
	Header  mail.Header // its header; nil if it did not parse
	Subject string      // the Subject header, RFC 2047 words decoded
	Text    string      // the first text/plain part, decoded, with \n line ends
	HTML    string      // the first text/html part, decoded, with \n line ends

	// ParseError says why the message could not be taken apart; the raw
	// data is kept either way.
	ParseError error
}

var linkPattern = regexp.MustCompile(`https?://[\pL\pN\[][^\s<>"']*`)

// Links returns the http and https links in the text part, in order, each
// once — what a person would click to confirm or reset.
func (m Message) Links() []string {
	var links []string
	seen := make(map[string]bool)
	for _, l := range linkPattern.FindAllString(m.Text, -1) {
		l = strings.TrimRight(l, ".,;:!?)]")
		if !seen[l] {
			seen[l] = true
			links = append(links, l)
		}
	}
	return links
}

// parseMessage takes raw apart as far as it can.
func parseMessage(raw []byte) Message {
	m := Message{Raw: raw}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		m.ParseError = fmt.Errorf("reading header: %w", err)
		return m
	}
	m.Header = msg.Header
	dec := new(mime.WordDecoder)
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		m.ParseError = fmt.Errorf("decoding subject: %w", err)
		return m
	}
	if err := m.readPart(msg.Header, msg.Body, 0); err != nil {
		m.ParseError = err
	}
	return m
}

// header is what readPart needs of a message header (mail.Header) or a
// part header (textproto.MIMEHeader).
type header interface{ Get(key string) string }

// readPart fills m.Text and m.HTML from one part, descending into
// multiparts.
func (m *Message) readPart(h header, body io.Reader, depth int) error {
	ctype := h.Get("Content-Type")
	if ctype == "" {
		ctype = "text/plain"
	}
	mediaType, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return fmt.Errorf("parsing Content-Type %q: %w", ctype, err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		if depth >= maxPartDepth {
			return errors.New("multiparts nested too deeply")
		}
		return m.readMultipart(body, params["boundary"], depth)
	}
	if mediaType != "text/plain" && mediaType != "text/html" {
		return nil
	}
	content, err := decodeBody(h.Get("Content-Transfer-Encoding"), body)
	if err != nil {
		return fmt.Errorf("decoding %s: %w", mediaType, err)
	}
	content = strings.ReplaceAll(content, "\r\n", "\n")
	switch {
	case mediaType == "text/plain" && m.Text == "":
		m.Text = content
	case mediaType == "text/html" && m.HTML == "":
		m.HTML = content
	}
	return nil
}

func (m *Message) readMultipart(body io.Reader, boundary string, depth int) error {
	if boundary == "" {
		return errors.New("multipart without a boundary")
	}
	mr := multipart.NewReader(body, boundary)
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading multipart: %w", err)
		}
		if err := m.readPart(p.Header, p, depth+1); err != nil {
			return err
		}
	}
}

// decodeBody undoes a Content-Transfer-Encoding.
func decodeBody(cte string, body io.Reader) (string, error) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "", "7bit", "8bit", "binary":
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body) // it skips line breaks itself
	default:
		return "", fmt.Errorf("unknown Content-Transfer-Encoding %q", cte)
	}
	b, err := io.ReadAll(body)
	return string(b), err
}
