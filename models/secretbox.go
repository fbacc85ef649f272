package models

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeyFile is the generated secret key's name inside the data dir.
const KeyFile = "secret.key"

// SecretBox seals account secrets with AES-256-GCM.
type SecretBox struct {
	aead cipher.AEAD
}

// NewSecretBox returns a box for a 32-byte key, or ErrInvalid.
func NewSecretBox(key []byte) (*SecretBox, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secret key must be 32 bytes, got %d: %w", len(key), ErrInvalid)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return &SecretBox{aead: aead}, nil
}

const sealPrefix = "v1:"

// Seal encrypts plaintext bound to aad (the record it belongs to, so a
// sealed value cannot be moved to another row).
func (b *SecretBox) Seal(plaintext, aad []byte) string {
	nonce := make([]byte, b.aead.NonceSize())
	_, _ = rand.Read(nonce)
	out := b.aead.Seal(nonce, nonce, plaintext, aad)
	return sealPrefix + base64.RawStdEncoding.EncodeToString(out)
}

// Open decrypts a value made by Seal. It returns ErrInvalid when the value
// was altered, moved, or sealed under another key.
func (b *SecretBox) Open(sealed string, aad []byte) ([]byte, error) {
	raw, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return nil, fmt.Errorf("open secret: unknown format: %w", ErrInvalid)
	}
	data, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil || len(data) < b.aead.NonceSize() {
		return nil, fmt.Errorf("open secret: malformed: %w", ErrInvalid)
	}
	n := b.aead.NonceSize()
	pt, err := b.aead.Open(nil, data[:n], data[n:], aad)
	if err != nil {
		return nil, fmt.Errorf("open secret: wrong key or altered value: %w", ErrInvalid)
	}
	return pt, nil
}

// ParseKey reads a 32-byte key written as 64 hex digits or standard base64.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if k, err := hex.DecodeString(s); err == nil && len(k) == 32 {
		return k, nil
	}
	if k, err := base64.StdEncoding.DecodeString(s); err == nil && len(k) == 32 {
		return k, nil
	}
	return nil, fmt.Errorf("secret key must be 32 bytes as 64 hex digits or base64: %w", ErrInvalid)
}

// LoadKey returns the secret key: from value when set, else from the file
// at keyFile when set, else from dataDir/secret.key, creating that file with
// mode 0600 on first run.
func LoadKey(value, keyFile, dataDir string) ([]byte, error) {
	if value != "" {
		return ParseKey(value)
	}
	if keyFile != "" {
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, fmt.Errorf("read secret key file: %w", err)
		}
		return ParseKey(string(b))
	}
	path := filepath.Join(dataDir, KeyFile)
	b, err := os.ReadFile(path)
	if err == nil {
		return ParseKey(string(b))
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read secret key: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	// O_EXCL: two processes starting together must not overwrite each other.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadKey("", path, dataDir)
	}
	if err != nil {
		return nil, fmt.Errorf("create secret key: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		return nil, fmt.Errorf("write secret key: %w", err)
	}
	return key, f.Sync()
}

// SetSecretBox sets the box used to seal account secrets.
func (db *DB) SetSecretBox(b *SecretBox) { db.box = b }
