package password

import (
	"strings"
	"testing"

	"github.com/veil-id/veil"
)

// Hashes of "correct horse battery staple" made by this package and by
// x/crypto/bcrypt at MinCost.
const (
	lowHash     = "$argon2id$v=19$m=64,t=1,p=1$rq/aHXAOj1I68SvXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc"
	defaultHash = "$argon2id$v=19$m=19456,t=2,p=1$W2tR2GE33Xsxq056yWOu2g$jPG2sDtaa1X9ltXQ0uj/IoidwXumbu0FgU3X6rVvVDE"
	bcryptHash  = "$2a$04$sc9NXQ0W.RMB8yj3T3n2F.c5F0MmzIniwCzugTjce2TtUT9S14TbW"
	testPass    = "correct horse battery staple"
)

func TestParseHash(t *testing.T) {
	tests := []struct {
		encoded string
		want    Hash
	}{
		{lowHash, Hash{Algorithm: Argon2id, Params: Params{64, 1, 1}}},
		{defaultHash, Hash{Algorithm: Argon2id, Params: DefaultParams}},
		// The reference implementation's vectors: 8-byte salt, two lanes.
		{"$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc",
			Hash{Algorithm: Argon2id, Params: Params{256, 2, 2}}},
		{bcryptHash, Hash{Algorithm: Bcrypt, Cost: 4}},
		{"$2b$12" + bcryptHash[6:], Hash{Algorithm: Bcrypt, Cost: 12}},
		{"$2y$16" + bcryptHash[6:], Hash{Algorithm: Bcrypt, Cost: 16}},
	}
	for _, tt := range tests {
		h, err := ParseHash(tt.encoded)
		if err != nil {
			t.Errorf("ParseHash(%q) error: %v", tt.encoded, err)
			continue
		}
		if got, want := h.Algorithm, tt.want.Algorithm; got != want {
			t.Errorf("ParseHash(%q).Algorithm = %q, want %q", tt.encoded, got, want)
		}
		if got, want := h.Params, tt.want.Params; got != want {
			t.Errorf("ParseHash(%q).Params = %+v, want %+v", tt.encoded, got, want)
		}
		if got, want := h.Cost, tt.want.Cost; got != want {
			t.Errorf("ParseHash(%q).Cost = %d, want %d", tt.encoded, got, want)
		}
		if got, want := h.String(), tt.encoded; got != want {
			t.Errorf("ParseHash(%q).String() = %q", tt.encoded, got)
		}
		if got, want := Algorithm(tt.encoded), tt.want.Algorithm; got != want {
			t.Errorf("Algorithm(%q) = %q, want %q", tt.encoded, got, want)
		}
	}
}

// malformedHashes are stored strings that must never verify and never be a
// shortcut. lowHash is the well-formed original most of them break.
var malformedHashes = []string{
	"",
	"$",
	"$$$$$",
	testPass, // a plaintext password in the hash column
	"argon2id$v=19$m=64,t=1,p=1$rq/aHXAOj1I68SvXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	"$argon2id$",
	"$argon2id$v=19",
	"$argon2id$v=19$m=64,t=1,p=1",
	"$argon2id$v=19$m=64,t=1,p=1$rq/aHXAOj1I68SvXkCgPYw",
	"$argon2id$v=19$m=64,t=1,p=1$rq/aHXAOj1I68SvXkCgPYw$",
	"$argon2id$v=19$m=64,t=1,p=1$$",
	lowHash[:len(lowHash)-1],
	lowHash[:len(lowHash)-2],
	lowHash[:len(lowHash)/2],
	lowHash + "$",
	lowHash + "\n",
	lowHash + "\r\n",
	"$argon2id$v=19$m=64,t=1,p=1$rq/aHXAOj1I68Sv\r\nXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	" " + lowHash,
	lowHash + "AA", // no whole number of bytes
	strings.ToUpper(lowHash[:10]) + lowHash[10:],
	// Bad base64: padding, URL alphabet, foreign characters, stray bits.
	"$argon2id$v=19$m=64,t=1,p=1$rq/aHXAOj1I68SvXkCgPYw==$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	"$argon2id$v=19$m=64,t=1,p=1$rq_aHXAOj1I68SvXkCgPYw$8Ydi8YMmuupsZIiWGcf__olGp4KJ8HRfGT7uOdaOPsc",
	"$argon2id$v=19$m=64,t=1,p=1$rq/aHXAOj1I68SvXkCgPY!$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	"$argon2id$v=19$m=64,t=1,p=1$rq/aHXAOj1I68SvXkCgPYx$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	"$argon2id$v=19$m=64,t=1,p=1$rq/aHXAOj1I6 8SvXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	"$argon2id$v=19$m=64,t=1,p=1$rq/aHXAOj1I68SvXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc\x00",
	// Salt and key lengths: 4-byte salt, 8-byte key, 65-byte key.
	"$argon2id$v=19$m=64,t=1,p=1$AAAAAA$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	"$argon2id$v=19$m=64,t=1,p=1$rq/aHXAOj1I68SvXkCgPYw$AAAAAAAAAAA",
	"$argon2id$v=19$m=64,t=1,p=1$rq/aHXAOj1I68SvXkCgPYw$" + strings.Repeat("A", 87),
	// Absurd or invalid parameters.
	"$argon2id$v=19$m=4294967295,t=1,p=1$rq/aHXAOj1I68SvXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	"$argon2id$v=19$m=99999999999,t=1,p=1$rq/aHXAOj1I68SvXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	"$argon2id$v=19$m=2097153,t=1,p=1$rq/aHXAOj1I68SvXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	"$argon2id$v=19$m=2097152,t=3,p=1$rq/aHXAOj1I68SvXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	"$argon2id$v=19$m=64,t=0,p=1$rq/aHXAOj1I68SvXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	"$argon2id$v=19$m=64,t=65,p=1$rq/aHXAOj1I68SvXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	"$argon2id$v=19$m=64,t=1,p=0$rq/aHXAOj1I68SvXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	"$argon2id$v=19$m=64,t=1,p=9$rq/aHXAOj1I68SvXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	"$argon2id$v=19$m=4096,t=1,p=256$rq/aHXAOj1I68SvXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	"$argon2id$v=19$m=0,t=1,p=1$rq/aHXAOj1I68SvXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	"$argon2id$v=19$m=064,t=1,p=1$rq/aHXAOj1I68SvXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	"$argon2id$v=19$m=+64,t=1,p=1$rq/aHXAOj1I68SvXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	"$argon2id$v=19$m=-64,t=1,p=1$rq/aHXAOj1I68SvXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	"$argon2id$v=19$m=0x40,t=1,p=1$rq/aHXAOj1I68SvXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	"$argon2id$v=19$m=,t=1,p=1$rq/aHXAOj1I68SvXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	"$argon2id$v=19$t=1,m=64,p=1$rq/aHXAOj1I68SvXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	"$argon2id$v=19$m=64,t=1$rq/aHXAOj1I68SvXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	"$argon2id$v=19$m=64, t=1, p=1$rq/aHXAOj1I68SvXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	"$argon2id$v=19$m=64,t=1,p=1,keyid=abc$rq/aHXAOj1I68SvXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	// Versions: 1.0, the future, none (which means 1.0), odd spellings.
	"$argon2id$v=16$m=64,t=1,p=1$rq/aHXAOj1I68SvXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	"$argon2id$v=20$m=64,t=1,p=1$rq/aHXAOj1I68SvXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	"$argon2id$v=019$m=64,t=1,p=1$rq/aHXAOj1I68SvXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	"$argon2id$m=64,t=1,p=1$rq/aHXAOj1I68SvXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	// Other algorithms and other argon2 variants.
	"$argon2i$v=19$m=64,t=1,p=1$rq/aHXAOj1I68SvXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	"$argon2d$v=19$m=64,t=1,p=1$rq/aHXAOj1I68SvXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc",
	"$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
	"$pbkdf2-sha256$29000$N2bsXYvR2hvDmPN.bw2BUg$lV3y8ebVPz6yqCixb2VQlwFKpHeGJh5K1lpRFlcbXUo",
	"$1$saltsalt$qjXMvbEw8oaL.CzflDugX/",
	"$6$rounds=5000$saltsalt$" + strings.Repeat("a", 86),
	"{SSHA}" + strings.Repeat("a", 32),
	// bcrypt: unsupported versions, costs out of bounds, wrong shapes.
	"$2x$04" + bcryptHash[6:],
	"$2c$04" + bcryptHash[6:],
	"$2$04$" + bcryptHash[7:],
	"$2a$03" + bcryptHash[6:],
	"$2a$17" + bcryptHash[6:],
	"$2a$31" + bcryptHash[6:],
	"$2a$4$" + bcryptHash[7:],
	"$2a$+4" + bcryptHash[6:],
	"$2a$04" + bcryptHash[6:59],
	bcryptHash + "A",
	bcryptHash[:59] + "!",
	bcryptHash[:30] + "+" + bcryptHash[31:],
	"$2a$04#" + bcryptHash[7:],
	strings.Repeat("$argon2id$v=19", 1000),
}

func TestParseHash_Malformed(t *testing.T) {
	for _, encoded := range malformedHashes {
		h, err := ParseHash(encoded)
		if got, want := veil.ErrorCode(err), veil.EINVALID; got != want {
			t.Errorf("ParseHash(%q) = %v, %v; want code %q", encoded, h, err, want)
		}
		if got, want := Algorithm(encoded), UnknownAlgorithm; got != want {
			t.Errorf("Algorithm(%q) = %q, want %q", encoded, got, want)
		}
	}
}

func TestParamsValidate(t *testing.T) {
	tests := []struct {
		params Params
		ok     bool
	}{
		{DefaultParams, true},
		{Params{Memory: 8, Iterations: 1, Parallelism: 1}, true},
		{Params{Memory: 64, Iterations: 1, Parallelism: 8}, true},
		{Params{Memory: 1 << 21, Iterations: 2, Parallelism: 4}, true}, // RFC 9106's first option
		{Params{Memory: 65536, Iterations: 64, Parallelism: 64}, true},
		{Params{}, false},
		{Params{Memory: 7, Iterations: 1, Parallelism: 1}, false},
		{Params{Memory: 63, Iterations: 1, Parallelism: 8}, false},
		{Params{Memory: 64, Iterations: 0, Parallelism: 1}, false},
		{Params{Memory: 64, Iterations: 1, Parallelism: 0}, false},
		{Params{Memory: 1<<21 + 1, Iterations: 1, Parallelism: 1}, false},
		{Params{Memory: 1 << 21, Iterations: 3, Parallelism: 1}, false},
		{Params{Memory: 64, Iterations: 65, Parallelism: 1}, false},
		{Params{Memory: 1024, Iterations: 1, Parallelism: 65}, false},
	}
	for _, tt := range tests {
		err := tt.params.Validate()
		if got, want := err == nil, tt.ok; got != want {
			t.Errorf("%+v.Validate() = %v, want ok %v", tt.params, err, want)
		}
		if err != nil && veil.ErrorCode(err) != veil.EINVALID {
			t.Errorf("%+v.Validate() code = %q, want %q", tt.params, veil.ErrorCode(err), veil.EINVALID)
		}
	}
}
