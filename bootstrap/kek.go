package bootstrap

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// keyEncryptionKey returns the key that seals secrets at rest: from
// KEY_ENCRYPTION_KEY, or outside production from a file generated on first
// use, so `make run` needs no setup and restarts keep the same keys.
func keyEncryptionKey(c Config) ([]byte, error) {
	if c.KeyEncryptionKey != "" {
		return decodeSecret(c.KeyEncryptionKey)
	}
	if c.IsProduction() {
		return nil, errors.New("KEY_ENCRYPTION_KEY: required in production")
	}
	path := c.KeyEncryptionKeyFile
	if b, err := os.ReadFile(path); err == nil {
		key, err := decodeSecret(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("KEY_ENCRYPTION_KEY_FILE %s: %w", path, err)
		}
		return key, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("KEY_ENCRYPTION_KEY_FILE: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("KEY_ENCRYPTION_KEY_FILE: %w", err)
	}
	// O_EXCL: two processes starting at once must not both write a key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return keyEncryptionKey(c)
	}
	if err != nil {
		return nil, fmt.Errorf("KEY_ENCRYPTION_KEY_FILE: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		return nil, fmt.Errorf("KEY_ENCRYPTION_KEY_FILE: %w", err)
	}
	return key, nil
}
