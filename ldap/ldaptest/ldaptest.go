// Package ldaptest gives tests a real OpenLDAP directory: the server that
// VEIL_TEST_LDAP names, or else a private slapd started from
// ldap/testdata on loopback ports when slapd and ldap-utils are installed.
// Either way every test gets a subtree of its own (people.ldif), so tests
// can share a server without seeing each other's entries or failure counts.
//
// A server for VEIL_TEST_LDAP must be one ldap/testdata/slapd.sh started
// (its suffix, administrator, service account and policies are the ones
// below); VEIL_TEST_LDAP_CA names its CA certificate (DIR/ca.pem), and
// without it the tests speak plain LDAP on loopback. Without either server
// the tests skip, or fail under CI=true (veiltest.RequireServer).
//
// It is for tests only, and must never listen beyond loopback.
package ldaptest

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/veil-id/veil/ldap"
	"github.com/veil-id/veil/veiltest"
)

// What ldap/testdata sets up.
const (
	Suffix          = "dc=veil,dc=test"
	AdminDN         = "cn=admin," + Suffix
	AdminPassword   = "veil-test-admin"
	ServiceDN       = "cn=veil,ou=services," + Suffix
	ServicePassword = "veil-test-service"
	// Password is every fixture entry's password.
	Password = "correct horse battery staple"
	// MaxFailure is the default policy's pwdMaxFailure.
	MaxFailure = 5
	// DefaultPolicyDN is the default policy.
	DefaultPolicyDN = "cn=default,ou=policies," + Suffix
	// NoLockoutPolicyDN never locks: every wrong password reaches a real
	// bind, the costliest path.
	NoLockoutPolicyDN = "cn=nolockout,ou=policies," + Suffix
)

const slapdPath = "/usr/sbin/slapd"

// Server is a running directory.
type Server struct {
	URL     string         // ldap://127.0.0.1:port; StartTLS when RootCAs is set
	TLSURL  string         // ldaps://127.0.0.1:port, or "" when unknown
	RootCAs *x509.CertPool // the test CA, or nil when unknown
	CAFile  string         // the test CA's PEM file, or "" when unknown
	Private bool           // started by this test, so nothing else uses it
}

// Start returns a server for tb: VEIL_TEST_LDAP's (with the CA of
// VEIL_TEST_LDAP_CA and the ldaps:// URL of VEIL_TEST_LDAPS, when set), or a private slapd
// stopped when tb ends, or none (tb is skipped, or fails in CI).
func Start(tb testing.TB) *Server {
	tb.Helper()
	if url := os.Getenv("VEIL_TEST_LDAP"); url != "" {
		s := &Server{URL: url, TLSURL: os.Getenv("VEIL_TEST_LDAPS")}
		if ca := os.Getenv("VEIL_TEST_LDAP_CA"); ca != "" {
			s.RootCAs, s.CAFile = mustLoadCA(tb, ca), ca
		}
		return s
	}
	if !canStartPrivate() {
		veiltest.RequireServer(tb, "VEIL_TEST_LDAP", "an OpenLDAP directory (install slapd, ldap-utils and openssl, or set VEIL_TEST_LDAP)")
		return nil
	}
	return StartPrivate(tb)
}

func canStartPrivate() bool {
	_, err := os.Stat(slapdPath)
	return err == nil && haveTool("ldapadd") && haveTool("openssl")
}

// StartPrivate starts a slapd for tb alone, stopped when tb ends, whatever
// VEIL_TEST_LDAP says: for tests that count the server's operations. It
// skips tb when slapd is not installed, or fails it under CI=true.
func StartPrivate(tb testing.TB) *Server {
	tb.Helper()
	if !canStartPrivate() {
		veiltest.Missing(tb, "this test needs a private slapd; install slapd, ldap-utils and openssl")
	}
	var lastErr error
	for range 3 { // a port taken between choosing and binding it: choose again
		s, err := startPrivate(tb)
		if err == nil {
			return s
		}
		lastErr = err
	}
	tb.Fatalf("ldaptest: starting slapd: %v", lastErr)
	return nil
}

func haveTool(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

func mustLoadCA(tb testing.TB, path string) *x509.CertPool {
	tb.Helper()
	pem, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("ldaptest: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		tb.Fatalf("ldaptest: no certificate in %s", path)
	}
	return pool
}

// testdata returns the directory of ldap/testdata.
func testdata() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata")
}

// freePort returns a loopback port nothing listens on right now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startPrivate runs testdata/slapd.sh in the foreground as a child of the
// test process, which stops it when tb ends (and the kernel, should the
// test process die first).
func startPrivate(tb testing.TB) (*Server, error) {
	tb.Helper()
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	tlsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(tb.TempDir(), "slapd")
	var out bytes.Buffer
	cmd := exec.Command("bash", filepath.Join(testdata(), "slapd.sh"), dir, fmt.Sprint(port), fmt.Sprint(tlsPort), "foreground")
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	s := &Server{URL: fmt.Sprintf("ldap://127.0.0.1:%d", port), TLSURL: fmt.Sprintf("ldaps://127.0.0.1:%d", tlsPort), Private: true}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return nil, fmt.Errorf("slapd exited (%v):\n%s", err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		c, err := goldap.DialURL(s.URL)
		if err != nil {
			continue
		}
		err = c.Bind(AdminDN, AdminPassword)
		c.Close()
		if err == nil {
			tb.Cleanup(stop)
			s.CAFile = filepath.Join(dir, "ca.pem")
			s.RootCAs = mustLoadCA(tb, s.CAFile)
			return s, nil
		}
	}
	stop()
	return nil, fmt.Errorf("slapd did not answer on %s within 15s:\n%s", s.URL, out.String())
}

// Config returns a store configuration for the entries under base: the
// service account, StartTLS with the test CA when known, small timeouts.
func (s *Server) Config(base string) ldap.Config {
	return ldap.Config{
		URL:              s.URL,
		StartTLS:         s.RootCAs != nil,
		RootCAs:          s.RootCAs,
		BindDN:           ServiceDN,
		BindPassword:     ServicePassword,
		BaseDN:           base,
		Filter:           "(mail={identifier})",
		PoolSize:         4,
		DialTimeout:      5 * time.Second,
		Timeout:          5 * time.Second,
		PasswordPolicyDN: DefaultPolicyDN,
	}
}

// NewPeople adds testdata/people.ldif under a fresh subtree and returns its
// DN. The subtree stays: servers from slapd.sh are thrown away whole.
func (s *Server) NewPeople(tb testing.TB) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(testdata(), "people.ldif"))
	if err != nil {
		tb.Fatal(err)
	}
	var r [8]byte
	rand.Read(r[:])
	ou := "t" + hex.EncodeToString(r[:])
	base := "ou=" + ou + "," + Suffix
	s.LDAPAdd(tb, strings.NewReplacer("{{base}}", base, "{{ou}}", ou).Replace(string(b)))
	return base
}

// LDAPAdd adds the entries of an LDIF text with ldapadd, as the
// administrator.
func (s *Server) LDAPAdd(tb testing.TB, ldif string) {
	tb.Helper()
	s.ldapTool(tb, "ldapadd", ldif)
}

// LDAPModify applies an LDIF change text with ldapmodify, as the
// administrator.
func (s *Server) LDAPModify(tb testing.TB, ldif string) {
	tb.Helper()
	s.ldapTool(tb, "ldapmodify", ldif)
}

func (s *Server) ldapTool(tb testing.TB, tool, ldif string) {
	tb.Helper()
	cmd := exec.Command(tool, "-x", "-H", s.URL, "-D", AdminDN, "-w", AdminPassword)
	cmd.Stdin = strings.NewReader(ldif)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("ldaptest: %s: %v\n%s", tool, err, out)
	}
}

// SetPolicy puts the entry dn under the password policy policyDN.
func (s *Server) SetPolicy(tb testing.TB, dn, policyDN string) {
	tb.Helper()
	s.LDAPModify(tb, "dn: "+dn+"\nchangetype: modify\nreplace: pwdPolicySubentry\npwdPolicySubentry: "+policyDN+"\n")
}

// Admin returns a connection bound as the administrator; the caller
// closes it.
func (s *Server) Admin(tb testing.TB) *goldap.Conn {
	tb.Helper()
	c, err := goldap.DialURL(s.URL)
	if err != nil {
		tb.Fatalf("ldaptest: %v", err)
	}
	if err := c.Bind(AdminDN, AdminPassword); err != nil {
		c.Close()
		tb.Fatalf("ldaptest: binding as the administrator: %v", err)
	}
	return c
}

// Attr returns the values of attr on dn, operational attributes included,
// as the administrator sees them.
func (s *Server) Attr(tb testing.TB, dn, attr string) []string {
	tb.Helper()
	c := s.Admin(tb)
	defer c.Close()
	res, err := c.Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases,
		1, 0, false, "(objectClass=*)", []string{attr}, nil))
	if err != nil {
		tb.Fatalf("ldaptest: reading %s of %s: %v", attr, dn, err)
	}
	if len(res.Entries) == 0 {
		return nil
	}
	return res.Entries[0].GetEqualFoldAttributeValues(attr)
}

// Bind binds as dn with password directly, as another system sharing the
// directory would, and fails tb unless the directory accepts it.
func (s *Server) Bind(tb testing.TB, dn, password string) {
	tb.Helper()
	c, err := goldap.DialURL(s.URL)
	if err != nil {
		tb.Fatalf("ldaptest: %v", err)
	}
	defer c.Close()
	if err := c.Bind(dn, password); err != nil {
		tb.Fatalf("ldaptest: binding as %s: %v", dn, err)
	}
}

// FailBinds binds as dn with a wrong password n times, directly, as another
// system sharing the directory would.
func (s *Server) FailBinds(tb testing.TB, dn string, n int) {
	tb.Helper()
	c, err := goldap.DialURL(s.URL)
	if err != nil {
		tb.Fatalf("ldaptest: %v", err)
	}
	defer c.Close()
	for range n {
		if err := c.Bind(dn, "not the password"); !goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) {
			tb.Fatalf("ldaptest: a wrong bind as %s: %v, want invalid credentials", dn, err)
		}
	}
}

// Operations returns how many operations of each kind (Bind, Search, ...)
// the server has completed, from its monitor database. Only a private
// server counts the operations of one test alone.
func (s *Server) Operations(tb testing.TB) map[string]int64 {
	tb.Helper()
	c := s.Admin(tb)
	defer c.Close()
	res, err := c.Search(goldap.NewSearchRequest("cn=Operations,cn=Monitor", goldap.ScopeSingleLevel,
		goldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"monitorOpCompleted"}, nil))
	if err != nil {
		tb.Fatalf("ldaptest: reading the monitor: %v", err)
	}
	ops := map[string]int64{}
	for _, e := range res.Entries {
		var n int64
		fmt.Sscan(e.GetAttributeValue("monitorOpCompleted"), &n)
		ops[strings.TrimPrefix(strings.SplitN(e.DN, ",", 2)[0], "cn=")] = n
	}
	return ops
}
