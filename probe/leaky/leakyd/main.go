// Command leakyd serves the leaky test server on a port, for measuring the
// probe against a server in another process: a closer stand-in for a real
// target than one sharing the probe's process. Never expose it.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"strings"

	"github.com/veil-id/veil/probe/leaky"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "loopback address to listen on")
	leak := flag.String("leak", "none", "none, message, status, length, header, cookie, timing or field")
	work := flag.Duration("work", 0, "extra busy work for existing accounts (timing)")
	exists := flag.String("exists", "alice@example.com,bob@example.com", "identifiers that have accounts")
	firstContact := flag.Bool("first-contact", false, "sign-up registers new addresses and answers known ones 400 \"exists already\"")
	throttleAfter := flag.Int("throttle-after", 0, "answer 429 to every request after this many (0: never)")
	volatile := flag.Bool("volatile", false, "a random reference in every body, so that no two bodies are alike")
	flag.Parse()
	host, _, err := net.SplitHostPort(*addr)
	if err != nil || (host != "127.0.0.1" && host != "::1" && host != "localhost") {
		log.Fatal("leakyd listens on loopback only")
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	cfg := leaky.Config{Leak: leaky.Leak(*leak), Work: *work, Exists: strings.Split(*exists, ","),
		FirstContact: *firstContact, ThrottleAfter: *throttleAfter, Volatile: *volatile}
	fmt.Fprintf(os.Stdout, "http://%s\n", ln.Addr())
	log.Fatal(leaky.NewServer(leaky.Handler(cfg)).Serve(ln))
}
