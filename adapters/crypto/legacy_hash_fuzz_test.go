package crypto

import (
	"errors"
	"testing"
)

// FuzzLegacyHashParser: no stored hash makes the legacy parser (or the
// import check in front of it) panic; a refusal is always
// ErrUnsupportedHash, and an accepted hash names its scheme. The checks
// themselves (PBKDF2, scrypt, bcrypt) are not run: their cost is bounded
// by the parser, which is what is fuzzed. Seeds are in
// testdata/fuzz/FuzzLegacyHashParser.
func FuzzLegacyHashParser(f *testing.F) {
	f.Add("pbkdf2:sha256:600000$salt$" + "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")
	f.Add("scrypt:32768:8:1$salt$00112233445566778899aabbccddeeff")
	f.Add("$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW")
	f.Add("$pbkdf2-sha256$i=1000,l=32$c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$scrypt$ln=15,r=8,p=1$c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("pbkdf2_sha256$870000$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	h, err := NewHasher(HasherConfig{MemoryKiB: 8192, Iterations: 1, Parallelism: 1, Concurrency: 1, QueueTimeout: 1})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, encoded string) {
		lh, err := parseLegacyHash(encoded)
		if err != nil {
			if !errors.Is(err, ErrUnsupportedHash) {
				t.Fatalf("refusal %v is not ErrUnsupportedHash", err)
			}
		} else if lh.scheme == "" || lh.check == nil {
			t.Fatalf("accepted %q without a scheme or check", encoded)
		}
		scheme, err := h.CheckImported(encoded)
		if err != nil && !errors.Is(err, ErrUnsupportedHash) {
			t.Fatalf("import check refusal %v is not ErrUnsupportedHash", err)
		}
		if err == nil && scheme == "" {
			t.Fatalf("import check accepted %q without naming a scheme", encoded)
		}
	})
}
