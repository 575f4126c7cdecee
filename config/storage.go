package config

import "github.com/as4gw/as4gw/store"

// Storage tunes the message store.
type Storage struct {
	// InlinePayloadBytes: payloads up to this size are kept inside the
	// database, written in the same commit as their message, instead of one
	// fsynced file each (for 10 kB messages that halves the store's CPU per
	// message). 0 means the default (64 KiB); -1 keeps every payload in a
	// file; at most 1 MiB.
	InlinePayloadBytes int `mapstructure:"inlinePayloadBytes"`
	// InlineStagingBytes caps the memory held by small payloads received
	// but not yet committed (0 = 64 MiB); past it they go to files.
	InlineStagingBytes int64 `mapstructure:"inlineStagingBytes"`
}

// StoreOptions are the store.Options these settings give.
func (s Storage) StoreOptions() store.Options {
	return store.Options{InlinePayloadBytes: s.InlinePayloadBytes, InlineStagingBytes: s.InlineStagingBytes}
}

func (s *Storage) validate(p *Problems) {
	if s.InlinePayloadBytes < -1 || s.InlinePayloadBytes > store.MaxInlinePayloadBytes {
		p.add("storage.inlinePayloadBytes", "must be -1 (off), 0 (default 64 KiB) or a size up to %d bytes", store.MaxInlinePayloadBytes)
	}
	if s.InlineStagingBytes < 0 {
		p.add("storage.inlineStagingBytes", "must be 0 (default 64 MiB) or a positive number of bytes")
	}
}
