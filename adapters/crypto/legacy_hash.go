package crypto

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha1" // PBKDF2-SHA1 hashes of other products are verified, never written
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"github.com/alexedwards/argon2id"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"
)

// Limits on imported hashes. A hash is data an importer (or an attacker
// with write access to an old database) chose; each check runs on every
// login attempt, so its cost must stay near an argon2id check. Werkzeug's
// defaults (PBKDF2 600,000 to 1,000,000 iterations; scrypt N=2^15, r=8,
// p=1, 32 MiB) are well inside.
const (
	MaxLegacyPBKDF2Iterations = 2_000_000
	// MaxLegacyScryptMemory bounds scrypt's 128·N·r bytes.
	MaxLegacyScryptMemory = 64 << 20
	// MaxLegacyScryptWork bounds N·r·p, four times Werkzeug's default.
	MaxLegacyScryptWork = 1 << 20
	MaxLegacyBcryptCost = 14
	// MaxImportedArgon2MemoryKiB bounds imported argon2id hashes (256 MiB).
	MaxImportedArgon2MemoryKiB = 256 * 1024
	maxLegacyHashLen           = 1024
	maxLegacySaltLen           = 256
	// minLegacyKeyLen refuses truncated digests that many passwords match.
	minLegacyKeyLen = 16
	maxLegacyKeyLen = 128
)

// ErrUnsupportedHash is returned for a stored hash in no format UMS can
// verify, or one whose cost parameters exceed the limits above.
var ErrUnsupportedHash = errors.New("unsupported or too costly password hash")

// legacyHash is a parsed hash of another product, ready to be checked.
type legacyHash struct {
	scheme string
	check  func(password string) (bool, error)
}

// CheckImported implements ports.ImportedHashes: it names the scheme of an
// encoded hash an import wants to store, or returns ErrUnsupportedHash
// (wrapped with the reason) when Verify could not check it within bounds.
func (h *Hasher) CheckImported(encoded string) (string, error) {
	if strings.HasPrefix(encoded, "$argon2id$") {
		p, _, _, err := argon2id.DecodeHash(encoded)
		if err != nil {
			return "", fmt.Errorf("%w: argon2id: %v", ErrUnsupportedHash, err)
		}
		if p.Memory > MaxImportedArgon2MemoryKiB || p.Iterations > 16 || p.Parallelism > 16 || p.KeyLength < minLegacyKeyLen {
			return "", fmt.Errorf("%w: argon2id parameters out of bounds", ErrUnsupportedHash)
		}
		return "argon2id", nil
	}
	lh, err := parseLegacyHash(encoded)
	if err != nil {
		return "", err
	}
	return lh.scheme, nil
}

// verifyLegacy checks a password against an imported hash in the same
// bounded pool as argon2id. A match always asks for a rehash: legacy
// hashes are replaced with argon2id at the first successful login.
func (h *Hasher) verifyLegacy(ctx context.Context, password, encoded string) (bool, bool, error) {
	lh, err := parseLegacyHash(encoded)
	if err != nil {
		return false, false, err
	}
	release, err := h.acquire(ctx)
	if err != nil {
		return false, false, err
	}
	defer release()
	match, err := lh.check(password)
	if err != nil {
		return false, false, fmt.Errorf("%s: %w", lh.scheme, err)
	}
	return match, match, nil
}

// parseLegacyHash recognises, by prefix:
//   - Werkzeug: pbkdf2:<digest>:<iterations>$<salt>$<hex> and
//     scrypt:<N>:<r>:<p>$<salt>$<hex>, the salt used as its UTF-8 text;
//   - bcrypt modular crypt: $2a$, $2b$, $2y$;
//   - PBKDF2 in PHC form $pbkdf2-sha256$i=<n>[,l=<len>]$<b64 salt>$<b64>
//     or passlib's modular crypt $pbkdf2-sha256$<n>$<ab64 salt>$<ab64>
//     (also -sha512, -sha1 and $pbkdf2$ for SHA-1);
//   - scrypt in PHC form $scrypt$ln=<log2 N>,r=<r>,p=<p>$<b64 salt>$<b64>;
//   - Django: pbkdf2_sha256$<n>$<salt>$<base64>.
func parseLegacyHash(encoded string) (legacyHash, error) {
	if len(encoded) > maxLegacyHashLen {
		return legacyHash{}, fmt.Errorf("%w: too long", ErrUnsupportedHash)
	}
	switch {
	case strings.HasPrefix(encoded, "pbkdf2:"):
		return parseWerkzeugPBKDF2(encoded)
	case strings.HasPrefix(encoded, "scrypt:"):
		return parseWerkzeugScrypt(encoded)
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		return parseBcrypt(encoded)
	case strings.HasPrefix(encoded, "$pbkdf2"):
		return parsePHCPBKDF2(encoded)
	case strings.HasPrefix(encoded, "$scrypt$"):
		return parsePHCScrypt(encoded)
	case strings.HasPrefix(encoded, "pbkdf2_sha256$"), strings.HasPrefix(encoded, "pbkdf2_sha1$"):
		return parseDjangoPBKDF2(encoded)
	}
	return legacyHash{}, fmt.Errorf("%w: unknown format", ErrUnsupportedHash)
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnsupportedHash}, args...)...)
}

// digests are the PBKDF2 PRFs accepted, with their output sizes.
var digests = map[string]struct {
	fn   func() hash.Hash
	size int
}{
	"sha1":   {sha1.New, sha1.Size},
	"sha224": {sha256.New224, sha256.Size224},
	"sha256": {sha256.New, sha256.Size},
	"sha384": {sha512.New384, sha512.Size384},
	"sha512": {sha512.New, sha512.Size},
}

// splitWerkzeug splits method$salt$hash as Werkzeug's check_password_hash
// does (the hash part may not contain '$', the salt may not be empty).
func splitWerkzeug(encoded string) (method []string, salt []byte, want []byte, err error) {
	parts := strings.SplitN(encoded, "$", 3)
	if len(parts) != 3 || parts[1] == "" || len(parts[1]) > maxLegacySaltLen {
		return nil, nil, nil, unsupported("malformed Werkzeug hash")
	}
	want, err = hex.DecodeString(parts[2])
	if err != nil || len(want) < minLegacyKeyLen || len(want) > maxLegacyKeyLen {
		return nil, nil, nil, unsupported("malformed Werkzeug digest")
	}
	return strings.Split(parts[0], ":"), []byte(parts[1]), want, nil
}

func parseWerkzeugPBKDF2(encoded string) (legacyHash, error) {
	method, salt, want, err := splitWerkzeug(encoded)
	if err != nil {
		return legacyHash{}, err
	}
	// Werkzeug always writes the digest and the iterations it used; a
	// bare "pbkdf2:sha256" would mean a default that changed by version.
	if len(method) != 3 {
		return legacyHash{}, unsupported("Werkzeug pbkdf2 needs digest and iterations")
	}
	d, ok := digests[method[1]]
	if !ok || len(want) != d.size {
		return legacyHash{}, unsupported("Werkzeug pbkdf2 digest %q", method[1])
	}
	iter, err := boundedInt(method[2], 1, MaxLegacyPBKDF2Iterations)
	if err != nil {
		return legacyHash{}, err
	}
	return pbkdf2Hash("werkzeug-pbkdf2-"+method[1], d.fn, salt, iter, want), nil
}

func parseWerkzeugScrypt(encoded string) (legacyHash, error) {
	method, salt, want, err := splitWerkzeug(encoded)
	if err != nil {
		return legacyHash{}, err
	}
	if len(method) != 4 {
		return legacyHash{}, unsupported("Werkzeug scrypt needs N, r and p")
	}
	var nrp [3]int
	for i, s := range method[1:] {
		if nrp[i], err = boundedInt(s, 1, MaxLegacyScryptWork); err != nil {
			return legacyHash{}, err
		}
	}
	return scryptHash("werkzeug-scrypt", salt, nrp[0], nrp[1], nrp[2], want)
}

func parseBcrypt(encoded string) (legacyHash, error) {
	cost, err := bcrypt.Cost([]byte(encoded))
	if err != nil {
		return legacyHash{}, unsupported("bcrypt: %v", err)
	}
	if cost > MaxLegacyBcryptCost {
		return legacyHash{}, unsupported("bcrypt cost %d above %d", cost, MaxLegacyBcryptCost)
	}
	return legacyHash{scheme: "bcrypt", check: func(password string) (bool, error) {
		pw := []byte(password)
		// bcrypt reads at most 72 bytes; the products that wrote these
		// hashes ignored the rest, so must we.
		if len(pw) > 72 {
			pw = pw[:72]
		}
		err := bcrypt.CompareHashAndPassword([]byte(encoded), pw)
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return false, nil
		}
		return err == nil, err
	}}, nil
}

// phcParts splits $id$params$salt$hash.
func phcParts(encoded string) (id, params string, salt, want []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 5 || parts[0] != "" {
		return "", "", nil, nil, unsupported("malformed PHC string")
	}
	if salt, err = b64(parts[3]); err != nil || len(salt) == 0 || len(salt) > maxLegacySaltLen {
		return "", "", nil, nil, unsupported("malformed salt")
	}
	if want, err = b64(parts[4]); err != nil || len(want) < minLegacyKeyLen || len(want) > maxLegacyKeyLen {
		return "", "", nil, nil, unsupported("malformed digest")
	}
	return parts[1], parts[2], salt, want, nil
}

// b64 decodes the PHC B64 alphabet (standard, unpadded) and passlib's ab64
// ('.' for '+').
func b64(s string) ([]byte, error) {
	s = strings.TrimRight(strings.ReplaceAll(s, ".", "+"), "=")
	return base64.RawStdEncoding.DecodeString(s)
}

func parsePHCPBKDF2(encoded string) (legacyHash, error) {
	id, params, salt, want, err := phcParts(encoded)
	if err != nil {
		return legacyHash{}, err
	}
	name := "sha1"
	if id != "pbkdf2" {
		var ok bool
		if name, ok = strings.CutPrefix(id, "pbkdf2-"); !ok {
			return legacyHash{}, unsupported("unknown PHC id %q", id)
		}
	}
	d, ok := digests[name]
	if !ok {
		return legacyHash{}, unsupported("pbkdf2 digest %q", name)
	}
	var iter int
	if strings.Contains(params, "=") {
		kv, err := phcParams(params)
		if err != nil {
			return legacyHash{}, err
		}
		if iter, err = boundedInt(kv["i"], 1, MaxLegacyPBKDF2Iterations); err != nil {
			return legacyHash{}, err
		}
		if l, ok := kv["l"]; ok && l != strconv.Itoa(len(want)) {
			return legacyHash{}, unsupported("pbkdf2 length does not match its digest")
		}
	} else if iter, err = boundedInt(params, 1, MaxLegacyPBKDF2Iterations); err != nil {
		return legacyHash{}, err
	}
	return pbkdf2Hash("pbkdf2-"+name, d.fn, salt, iter, want), nil
}

func parsePHCScrypt(encoded string) (legacyHash, error) {
	_, params, salt, want, err := phcParts(encoded)
	if err != nil {
		return legacyHash{}, err
	}
	kv, err := phcParams(params)
	if err != nil {
		return legacyHash{}, err
	}
	ln, err := boundedInt(kv["ln"], 1, 20)
	if err != nil {
		return legacyHash{}, err
	}
	r, err := boundedInt(kv["r"], 1, MaxLegacyScryptWork)
	if err != nil {
		return legacyHash{}, err
	}
	p, err := boundedInt(kv["p"], 1, MaxLegacyScryptWork)
	if err != nil {
		return legacyHash{}, err
	}
	return scryptHash("scrypt", salt, 1<<ln, r, p, want)
}

func parseDjangoPBKDF2(encoded string) (legacyHash, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 4 || parts[2] == "" || len(parts[2]) > maxLegacySaltLen {
		return legacyHash{}, unsupported("malformed Django hash")
	}
	d := digests[strings.TrimPrefix(parts[0], "pbkdf2_")]
	want, err := base64.StdEncoding.DecodeString(parts[3])
	if err != nil || len(want) != d.size {
		return legacyHash{}, unsupported("malformed Django digest")
	}
	iter, err := boundedInt(parts[1], 1, MaxLegacyPBKDF2Iterations)
	if err != nil {
		return legacyHash{}, err
	}
	return pbkdf2Hash("django-"+parts[0], d.fn, []byte(parts[2]), iter, want), nil
}

func phcParams(s string) (map[string]string, error) {
	kv := map[string]string{}
	for _, p := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, unsupported("malformed parameters")
		}
		kv[k] = v
	}
	return kv, nil
}

func boundedInt(s string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, unsupported("parameter %q outside %d..%d", s, lo, hi)
	}
	return n, nil
}

func pbkdf2Hash(scheme string, fn func() hash.Hash, salt []byte, iter int, want []byte) legacyHash {
	return legacyHash{scheme: scheme, check: func(password string) (bool, error) {
		got, err := pbkdf2.Key(fn, password, salt, iter, len(want))
		if err != nil {
			return false, err
		}
		return subtle.ConstantTimeCompare(got, want) == 1, nil
	}}
}

func scryptHash(scheme string, salt []byte, n, r, p int, want []byte) (legacyHash, error) {
	if n < 2 || n&(n-1) != 0 {
		return legacyHash{}, unsupported("scrypt N must be a power of two")
	}
	// Checked in this order so no product below can overflow.
	if r > 64 || p > 64 || 128*n*r > MaxLegacyScryptMemory || n*r*p > MaxLegacyScryptWork {
		return legacyHash{}, unsupported("scrypt parameters N=%d r=%d p=%d above the limits", n, r, p)
	}
	return legacyHash{scheme: scheme, check: func(password string) (bool, error) {
		got, err := scrypt.Key([]byte(password), salt, n, r, p, len(want))
		if err != nil {
			return false, err
		}
		return subtle.ConstantTimeCompare(got, want) == 1, nil
	}}, nil
}
