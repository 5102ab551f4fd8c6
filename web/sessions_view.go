package web

import (
	"net/netip"
	"strings"
)

// describeDevice names the browser and system of a User-Agent roughly
// ("Firefox on Linux"), so a person can tell her sessions apart. It is
// shown only to the owner of the session, who sent it.
func describeDevice(ua string) string {
	browser := firstMatch(ua, []string{"Edg/", "Edge", "OPR/", "Opera", "Firefox/", "Firefox", "HeadlessChrome/", "Chrome", "Chromium/", "Chrome",
		"Version/", "Safari", "curl/", "curl"})
	system := firstMatch(ua, []string{"Windows", "Windows", "Android", "Android", "iPhone", "iOS", "iPad", "iPadOS", "CrOS", "ChromeOS",
		"Mac OS X", "macOS", "Linux", "Linux", "FreeBSD", "FreeBSD"})
	switch {
	case browser != "" && system != "":
		return browser + " on " + system
	case browser != "":
		return browser
	case system != "":
		return "A browser on " + system
	}
	if product, _, _ := strings.Cut(ua, "/"); product != "" && len(product) <= 40 && !strings.ContainsAny(product, " ()") {
		return product
	}
	return "Unknown device"
}

// firstMatch returns the name after the first needle (pairs of needle,
// name) that ua contains, or "".
func firstMatch(ua string, pairs []string) string {
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.Contains(ua, pairs[i]) {
			return pairs[i+1]
		}
	}
	return ""
}

// roughPlace says where a session's stored client address is, no closer
// than a network: this machine, a private network, or the /24 (IPv4) or
// /48 (IPv6) it belongs to. veil keeps no location database; the network
// is what an owner can compare with her own.
func roughPlace(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		p, perr := netip.ParsePrefix(addr)
		if perr != nil {
			return "Unknown"
		}
		a = p.Addr()
	}
	a = a.Unmap()
	switch {
	case a.IsLoopback():
		return "This machine"
	case a.IsPrivate() || a.IsLinkLocalUnicast():
		return "A private network"
	case a.Is4():
		p, _ := a.Prefix(24)
		return "Network " + p.String()
	}
	p, _ := a.Prefix(48)
	return "Network " + p.String()
}
